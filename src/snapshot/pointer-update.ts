/**
 * Publishing in latest.json by compare-and-swap, with writer fencing and keep-N retention.
 *
 * Rules: the pointer's newest snapshot never regresses (a snapshot at or below it is not
 * published and its manifest is deleted); a writer whose storeId or epoch differ from the
 * pointer's gets REPOSITORY_FENCED unless it takes over (epoch + 1, which fences the previous
 * owner in turn); an unparsable pointer is never overwritten (CORRUPT_SNAPSHOT). A lost race
 * (PRECONDITION_FAILED) re-reads the pointer and decides again, at most
 * `pointerUpdateAttemptsMax` times. Manifests that fall out of the retained list are deleted
 * after the pointer names the new list (their chunks are left to GC).
 */
import { CairnError, isCairnError } from '../io/errors.js'
import type { RepositoryContext } from './repository-context.js'
import { latestKey } from './repository-layout.js'
import type { SnapshotManifest } from './snapshot-manifest.js'
import { compareRetained, encodePointer, pointerFormat, type RetainedSnapshot, type SnapshotPointer } from './snapshot-pointer.js'
import type { CreateOptions } from './snapshot-types.js'
import { pointerUpdateAttemptsMax } from './snapshot-limits.js'

/** The epoch this writer publishes with, or REPOSITORY_FENCED. */
export function checkWriter(pointer: SnapshotPointer, options: Pick<CreateOptions, 'writer' | 'takeOver'>, url: string): number {
  const owner = pointer.writer
  const mine = options.writer
  if (owner.storeId === mine.storeId && (mine.epoch === undefined || mine.epoch === owner.epoch)) return owner.epoch
  if (options.takeOver === true) return owner.epoch + 1
  throw new CairnError(
    'REPOSITORY_FENCED',
    `partition ${pointer.partition} in ${url} is owned by store ${owner.storeId} (epoch ${owner.epoch}), not by this store (${mine.storeId}${mine.epoch === undefined ? '' : `, epoch ${mine.epoch}`}): nothing was published; run cairn snapshot create --take-over to take ownership (it fences the other store)`,
    { context: { partition: pointer.partition, ownerStoreId: owner.storeId, ownerEpoch: owner.epoch, storeId: mine.storeId, epoch: mine.epoch } },
  )
}

const refusals = ['REPOSITORY_FENCED', 'CORRUPT_SNAPSHOT', 'UNSUPPORTED_FORMAT', 'CONDITIONAL_WRITES_UNSUPPORTED'] as const

export type PublishOutcome = { published: true; epoch: number } | { published: false; epoch: number; newest: RetainedSnapshot }

export async function publishSnapshot(ctx: RepositoryContext, manifest: SnapshotManifest, manifestKey: string, options: CreateOptions): Promise<PublishOutcome> {
  const ours: RetainedSnapshot = {
    snapshotId: manifest.snapshotId,
    lsn: manifest.lsn,
    manifestKey,
    rootHash: manifest.rootHash,
    createdAt: manifest.createdAt,
  }
  const dropOurs = () => ctx.store.delete(manifestKey).catch(() => undefined)
  let outcome: PublishOutcome | undefined
  try {
    outcome = await updatePointer(ctx, manifest.partition, (current) => {
      if (current === undefined) {
        return { epoch: 1, pointer: pointerOf(ctx, manifest.partition, { storeId: options.writer.storeId, epoch: 1 }, [ours]) }
      }
      const epoch = checkWriter(current, options, ctx.store.url)
      const newest = current.snapshots[0]!
      if (ours.lsn <= newest.lsn) return { epoch, refused: newest }
      const retained = [ours, ...current.snapshots].sort((a, b) => compareRetained(b, a)).slice(0, ctx.options.keep)
      return { epoch, pointer: pointerOf(ctx, manifest.partition, { storeId: options.writer.storeId, epoch }, retained) }
    })
  } catch (e) {
    // Refused before our pointer write (fenced, a damaged pointer, an unsafe store): nothing of
    // ours is published, so its manifest goes. Any other error may hide a write that happened.
    if (refusals.some((code) => isCairnError(e, code))) await dropOurs()
    throw e
  }
  if (!outcome.published) await dropOurs()
  return outcome
}

type Decision = { epoch: number; pointer: SnapshotPointer } | { epoch: number; refused: RetainedSnapshot }

/**
 * Reads latest.json, asks `decide` what to write, writes it by CAS; retries lost races. Deletes
 * the manifests the new pointer no longer retains.
 */
export async function updatePointer(ctx: RepositoryContext, partition: string, decide: (current: SnapshotPointer | undefined) => Decision): Promise<PublishOutcome> {
  const key = latestKey(partition)
  for (let attempt = 1; ; attempt++) {
    const current = await ctx.readPointer(partition)
    const decision = decide(current?.pointer)
    if ('refused' in decision) return { published: false, epoch: decision.epoch, newest: decision.refused }
    await ctx.ensureConditionalWrites()
    try {
      const condition = current === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: current.etag }
      await ctx.store.put(key, encodePointer(decision.pointer), { condition })
    } catch (e) {
      if (isCairnError(e, 'PRECONDITION_FAILED') && attempt < pointerUpdateAttemptsMax) continue
      if (isCairnError(e, 'PRECONDITION_FAILED')) {
        throw new CairnError('OBJECT_STORE_ERROR', `latest.json of partition ${partition} changed under ${attempt} update attempts in a row: other writers are racing on it; retry`, {
          context: { partition, key, attempts: attempt },
          cause: e,
        })
      }
      throw e
    }
    const kept = new Set(decision.pointer.snapshots.map((s) => s.manifestKey))
    // Best effort: the publish has happened; a manifest left behind is an orphan GC removes.
    for (const s of current?.pointer.snapshots ?? []) {
      if (!kept.has(s.manifestKey)) await ctx.store.delete(s.manifestKey).catch(() => undefined)
    }
    return { published: true, epoch: decision.epoch }
  }
}

export function pointerOf(ctx: RepositoryContext, partition: string, writer: { storeId: string; epoch: number }, snapshots: RetainedSnapshot[]): SnapshotPointer {
  return {
    format: pointerFormat,
    partition,
    writer,
    archivedLsn: snapshots.at(-1)!.lsn,
    updatedAt: new Date(ctx.options.now()).toISOString(),
    snapshots,
  }
}
