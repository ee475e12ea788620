/**
 * `prune`: keeps a partition's newest `keep` snapshots in latest.json (by CAS, like a publish),
 * deletes the manifests that fall out, and deletes orphan manifests (named by no pointer: left by
 * a crashed or refused create) older than the GC grace period. Chunks are left to `gc`.
 */
import { CairnError } from '../io/errors.js'
import { assertPartitionId } from '../partition/index.js'
import { listAll, type RepositoryContext } from './repository-context.js'
import { manifestsPrefix } from './repository-layout.js'
import type { RetainedSnapshot } from './snapshot-pointer.js'
import type { PruneResult } from './snapshot-types.js'
import { pointerOf, updatePointer } from './pointer-update.js'

export async function pruneSnapshots(ctx: RepositoryContext, partition: string, keep: number): Promise<PruneResult> {
  assertPartitionId(partition)
  if (!Number.isSafeInteger(keep) || keep < 1) throw new CairnError('INVALID_ARGUMENT', `keep must be a whole number >= 1 (got ${keep}): the latest snapshot is never pruned`)
  let kept: RetainedSnapshot[] = []
  let evicted: RetainedSnapshot[] = []
  await updatePointer(ctx, partition, (current) => {
    if (current === undefined) {
      throw new CairnError('SNAPSHOT_NOT_FOUND', `partition ${partition} has no snapshot in ${ctx.store.url}: nothing to prune`, { context: { partition } })
    }
    kept = current.snapshots.slice(0, keep)
    evicted = current.snapshots.slice(keep)
    if (evicted.length === 0) return { epoch: current.writer.epoch, refused: current.snapshots[0]! }
    return { epoch: current.writer.epoch, pointer: pointerOf(ctx, partition, current.writer, kept) }
  })
  const deleted = evicted.map((s) => s.manifestKey)
  const retained = new Set(kept.map((s) => s.manifestKey))
  const oldBefore = ctx.options.now() - ctx.options.gcGraceMs
  for (const o of await listAll(ctx.store, manifestsPrefix(partition))) {
    if (retained.has(o.key) || deleted.includes(o.key) || o.lastModified.getTime() > oldBefore) continue
    await ctx.store.delete(o.key)
    deleted.push(o.key)
  }
  return { kept, manifestsDeleted: deleted }
}
