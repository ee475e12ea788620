/**
 * Chunk garbage collection, mark and sweep over the whole repository.
 *
 * Mark: the chunks of every manifest a partition's latest.json retains, and of every other
 * manifest younger than the grace period (a create in flight writes its manifest before its
 * pointer). Older manifests no pointer retains are orphans: deleted, their chunks not marked.
 * Sweep (listed after the mark): a chunk not marked is deleted only if its lastModified is older
 * than the grace period, checked again by a HEAD right before the delete.
 *
 * Why chunks of an upload in flight survive: a create stores new chunks (young by definition)
 * and rewrites any reused chunk older than half the grace period (snapshot-upload.ts), and fails
 * if it takes longer than half of it; so every chunk an unpublished manifest relies on is younger
 * than the grace period until that manifest exists, and then the manifest marks it.
 *
 * Abort on uncertainty: a latest.json or a manifest GC must read but cannot parse stops GC with
 * CORRUPT_SNAPSHOT before anything is deleted (it cannot know what that object references).
 */
import { assert } from '../io/assert.js'
import { listAll, type RepositoryContext } from './repository-context.js'
import { chunkIdOfKey, chunksPrefix, partitionsPrefix } from './repository-layout.js'
import type { GcResult } from './snapshot-types.js'

export async function gcChunks(ctx: RepositoryContext, graceMs: number): Promise<GcResult> {
  assert(Number.isFinite(graceMs) && graceMs >= 0, 'graceMs is a non-negative number')
  const { store } = ctx
  const oldBefore = () => ctx.options.now() - graceMs
  const objects = await listAll(store, partitionsPrefix)
  const partitions = new Set<string>()
  const manifests: { partition: string; snapshotId: string; key: string; lastModified: Date }[] = []
  for (const o of objects) {
    const latest = /^partitions\/([^/]+)\/latest\.json$/.exec(o.key)
    if (latest !== null) partitions.add(latest[1]!)
    const m = /^partitions\/([^/]+)\/snapshots\/([^/]+)\.json$/.exec(o.key)
    if (m !== null) manifests.push({ partition: m[1]!, snapshotId: m[2]!, key: o.key, lastModified: o.lastModified })
  }
  const marked = new Set<string>()
  const orphans: string[] = []
  const retained = new Set<string>()
  const listed = new Set(manifests.map((m) => m.key))
  for (const partition of partitions) {
    const current = await ctx.readPointer(partition) // damaged: throws, nothing deleted yet
    for (const s of current?.pointer.snapshots ?? []) {
      retained.add(s.manifestKey)
      // A retained manifest that is missing is verify's business: it marks nothing.
      if (!listed.has(s.manifestKey)) continue
      for (const c of (await ctx.readManifest(partition, s.snapshotId, s.manifestKey)).chunks) marked.add(c.id)
    }
  }
  const cutoff = oldBefore()
  for (const m of manifests) {
    if (retained.has(m.key)) continue
    if (m.lastModified.getTime() > cutoff) {
      try {
        for (const c of (await ctx.readManifest(m.partition, m.snapshotId, m.key)).chunks) marked.add(c.id)
      } catch (e) {
        // A young manifest deleted meanwhile (a refused create cleaning up) marks nothing.
        if ((e as { code?: string }).code !== 'SNAPSHOT_NOT_FOUND') throw e
      }
    } else orphans.push(m.key)
  }

  let chunksKept = 0
  let chunksDeleted = 0
  let chunksYoung = 0
  let bytesDeleted = 0
  for (const o of await listAll(store, chunksPrefix)) {
    const id = chunkIdOfKey(o.key)
    if (id === undefined) continue
    if (marked.has(id)) {
      chunksKept++
      continue
    }
    const now = await store.head(o.key)
    if (now === undefined) continue
    if (now.lastModified.getTime() > oldBefore()) {
      chunksYoung++
      continue
    }
    await store.delete(o.key)
    chunksDeleted++
    bytesDeleted += now.size
  }
  for (const key of orphans) await store.delete(key)
  return { chunksKept, chunksDeleted, bytesDeleted, chunksYoung, manifestsDeleted: orphans }
}
