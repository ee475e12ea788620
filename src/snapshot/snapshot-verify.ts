/**
 * `verify`: reads every object a partition's retained snapshots (or one snapshot) depend on and
 * reports each bad one: latest.json, every manifest, every chunk (hash, size, entries). Problems
 * are data, not errors: a missing or damaged object is listed and the check goes on; only an
 * unreachable repository throws.
 */
import { type CairnError, isCairnError } from '../io/errors.js'
import { assertPartitionId } from '../partition/index.js'
import { BoundedTasks } from './bounded-tasks.js'
import { decodeEntries } from './canonical-entries.js'
import { getOrUndefined, listAll, type RepositoryContext } from './repository-context.js'
import { chunkKey, latestKey, manifestKey, manifestsPrefix } from './repository-layout.js'
import type { SnapshotManifest } from './snapshot-manifest.js'
import type { SnapshotPointer } from './snapshot-pointer.js'
import type { VerifyProblem, VerifyResult } from './snapshot-types.js'
import { decodeStoredChunk } from './stored-chunk.js'

export async function verifySnapshots(
  ctx: RepositoryContext,
  partition: string,
  options: { snapshotId?: string; onProgress?: (done: number, total: number) => void },
): Promise<VerifyResult> {
  assertPartitionId(partition)
  const problems: VerifyProblem[] = []
  const targets: { snapshotId: string; key: string; lsn?: number; rootHash?: string }[] = []
  if (options.snapshotId !== undefined) targets.push({ snapshotId: options.snapshotId, key: manifestKey(partition, options.snapshotId) })
  else {
    let pointer: SnapshotPointer | undefined
    try {
      pointer = (await ctx.readPointer(partition))?.pointer
    } catch (e) {
      if (!isDamage(e)) throw e
      problems.push({ key: latestKey(partition), problem: 'unparsable', detail: (e as Error).message })
      // Without a pointer to trust, every manifest the partition has is checked.
      for (const o of await listAll(ctx.store, manifestsPrefix(partition))) {
        const m = /([^/]+)\.json$/.exec(o.key)
        if (m !== null) targets.push({ snapshotId: m[1]!, key: o.key })
      }
    }
    if (pointer === undefined && problems.length === 0) {
      problems.push({ key: latestKey(partition), problem: 'missing', detail: `partition ${partition} has no latest.json: no snapshot was ever published` })
    }
    for (const s of pointer?.snapshots ?? []) targets.push({ snapshotId: s.snapshotId, key: s.manifestKey, lsn: s.lsn, rootHash: s.rootHash })
  }

  const manifests: SnapshotManifest[] = []
  for (const t of targets) {
    try {
      const m = await ctx.readManifest(partition, t.snapshotId, t.key)
      if ((t.lsn !== undefined && m.lsn !== t.lsn) || (t.rootHash !== undefined && m.rootHash !== t.rootHash)) {
        problems.push({ key: t.key, problem: 'corrupt', detail: 'its LSN or root hash differ from what latest.json records', snapshotId: t.snapshotId })
      }
      manifests.push(m)
    } catch (e) {
      if (isCairnError(e, 'SNAPSHOT_NOT_FOUND')) problems.push({ key: t.key, problem: 'missing', detail: 'the manifest is missing', snapshotId: t.snapshotId })
      else if (isDamage(e)) problems.push({ key: t.key, problem: 'unparsable', detail: (e as Error).message, snapshotId: t.snapshotId })
      else throw e
    }
  }

  // Each chunk once, however many snapshots share it.
  const chunks = new Map<string, { bytes: number; entries: number; snapshotId: string }>()
  for (const m of manifests) for (const c of m.chunks) if (!chunks.has(c.id)) chunks.set(c.id, { ...c, snapshotId: m.snapshotId })
  const tasks = new BoundedTasks(ctx.options.downloadParallelism)
  let done = 0
  try {
    for (const [id, c] of chunks) {
      await tasks.run(async () => {
        const problem = await checkChunk(ctx, id, c.bytes, c.entries)
        if (problem !== undefined) problems.push({ ...problem, snapshotId: c.snapshotId })
        options.onProgress?.(++done, chunks.size)
      })
    }
    await tasks.drain()
  } finally {
    await tasks.settle()
  }
  return { ok: problems.length === 0, snapshotsChecked: manifests.length, chunksChecked: chunks.size, problems }
}

async function checkChunk(ctx: RepositoryContext, id: string, bytes: number, entries: number): Promise<VerifyProblem | undefined> {
  const key = chunkKey(id)
  const body = await getOrUndefined(ctx.store, key)
  if (body === undefined) return { key, problem: 'missing', detail: 'the chunk is missing' }
  try {
    const canonical = await decodeStoredChunk(body.bytes, id, key, bytes)
    const count = decodeEntries(canonical, key).length
    if (count !== entries) return { key, problem: 'corrupt', detail: `it holds ${count} entries, its manifest says ${entries}` }
  } catch (e) {
    if (!isDamage(e)) throw e
    return { key, problem: 'corrupt', detail: (e as CairnError).message }
  }
  return undefined
}

function isDamage(e: unknown): boolean {
  return isCairnError(e, 'CORRUPT_SNAPSHOT') || isCairnError(e, 'UNSUPPORTED_FORMAT')
}
