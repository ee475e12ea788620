/**
 * `create`: chunks the state, uploads the chunks the repository lacks, then the manifest, then
 * publishes it in latest.json by compare-and-swap (pointer-update.ts).
 *
 * Order is the safety argument: every chunk is stored before the manifest that names it, and
 * the manifest before the pointer that names it, so a reader following the pointer finds all it
 * needs (GC keeps chunks of manifests in flight, see snapshot-gc.ts). A crash anywhere leaves
 * only unreferenced objects, which a retry reuses (chunks) or GC removes (orphan manifests).
 *
 * Dedup and GC: a chunk already present is not uploaded again, but if its lastModified is older
 * than half the GC grace period it is rewritten (same bytes: content-addressed), so every chunk a
 * manifest in flight relies on is younger than the grace period as long as the upload finishes
 * within half of it; a create that takes longer fails before writing its manifest (retry it:
 * the chunks it uploaded are reused).
 */
import { CairnError, isCairnError } from '../io/errors.js'
import { assertPartitionId } from '../partition/index.js'
import { BoundedTasks } from './bounded-tasks.js'
import { type CanonicalChunk, ChunkBuilder } from './chunker.js'
import type { RepositoryContext } from './repository-context.js'
import { chunkKey, manifestKey, newSnapshotId } from './repository-layout.js'
import { encodeManifest, type ManifestChunk, rootHashOf, type SnapshotManifest } from './snapshot-manifest.js'
import type { CreateOptions, CreateResult, Entry, SnapshotSource } from './snapshot-types.js'
import { encodeStoredChunk } from './stored-chunk.js'
import { checkWriter, publishSnapshot } from './pointer-update.js'
import { isSnapshotDamage } from './snapshot-download.js'
import type { RetainedSnapshot } from './snapshot-pointer.js'

export async function createSnapshot(ctx: RepositoryContext, partition: string, source: SnapshotSource, options: CreateOptions): Promise<CreateResult> {
  assertPartitionId(partition)
  if (!Number.isSafeInteger(source.lsn) || source.lsn < 0) throw new CairnError('INVALID_ARGUMENT', `a snapshot's LSN is a whole number (got ${source.lsn})`)
  if (options.writer.storeId === '') throw new CairnError('INVALID_ARGUMENT', 'a snapshot writer needs a storeId')
  const { store } = ctx
  const startedMs = ctx.options.now()

  // Fail fast, before any upload: a store that cannot protect the pointer, a fenced writer, or
  // a repository already at or past this LSN.
  await ctx.ensureConditionalWrites()
  const current = await ctx.readPointer(partition)
  if (current !== undefined) {
    const epoch = checkWriter(current.pointer, options, store.url)
    const newest = current.pointer.snapshots[0]!
    if (newest.lsn >= source.lsn) return await existingResult(ctx, partition, newest, epoch)
  }

  const chunks: ManifestChunk[] = []
  let bytesUploaded = 0
  let chunksUploaded = 0
  let entries = 0
  let bytes = 0
  const tasks = new BoundedTasks(ctx.options.uploadParallelism)
  // With no grace period (GC not run beside uploads) there is nothing to refresh against.
  const refreshOlderThanMs = ctx.options.gcGraceMs > 0 ? ctx.options.gcGraceMs / 2 : Number.POSITIVE_INFINITY
  const upload = async (id: string, canonical: Uint8Array): Promise<void> => {
    const key = chunkKey(id)
    const present = await store.head(key)
    if (present !== undefined && ctx.options.now() - present.lastModified.getTime() < refreshOlderThanMs) return
    const stored = await encodeStoredChunk(canonical, ctx.options.compression)
    if (present !== undefined) await store.put(key, stored) // refresh an old chunk against GC
    else {
      try {
        await store.put(key, stored, { condition: { ifNoneMatch: '*' } })
      } catch (e) {
        if (isCairnError(e, 'PRECONDITION_FAILED')) return // another upload stored it meanwhile
        throw e
      }
    }
    bytesUploaded += stored.length
    chunksUploaded++
  }
  const report = () => options.onProgress?.({ chunksDone: chunks.length, chunksUploaded, bytesUploaded, entries })
  const iterator = sourceIterator(source)
  const builder = new ChunkBuilder()
  const take = async (chunk: CanonicalChunk): Promise<void> => {
    chunks.push({ id: chunk.id, bytes: chunk.bytes.length, entries: chunk.entries })
    entries += chunk.entries
    bytes += chunk.bytes.length
    await tasks.run(async () => {
      await upload(chunk.id, chunk.bytes)
      report()
    })
  }
  try {
    // No async step per entry: only a completed chunk awaits (an upload slot).
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      const done = builder.add(next.value[0], next.value[1])
      if (done !== undefined) for (const chunk of done) await take(chunk)
    }
    const last = builder.finish()
    if (last !== undefined) await take(last)
    await tasks.drain()
  } finally {
    await tasks.settle()
    await iterator.return?.()
  }

  if (ctx.options.now() - startedMs >= refreshOlderThanMs) {
    throw new CairnError(
      'OBJECT_STORE_ERROR',
      `the upload of partition ${partition}'s snapshot took longer than half the GC grace period (${ctx.options.gcGraceMs} ms), so GC may have swept chunks it reuses: retry (uploaded chunks are reused), or raise the grace period`,
      { context: { partition, elapsedMs: ctx.options.now() - startedMs } },
    )
  }

  const snapshotId = newSnapshotId(source.lsn, ctx.options.now())
  const manifest: SnapshotManifest = {
    format: 1,
    partition,
    lsn: source.lsn,
    logId: source.logId,
    snapshotId,
    createdAt: new Date(ctx.options.now()).toISOString(),
    producer: { software: ctx.options.producer, storeId: options.writer.storeId },
    entries,
    bytes,
    chunks,
    rootHash: rootHashOf(chunks),
  }
  const key = manifestKey(partition, snapshotId)
  const manifestBytes = encodeManifest(manifest)
  await store.put(key, manifestBytes, { condition: { ifNoneMatch: '*' } })
  bytesUploaded += manifestBytes.length

  const published = await publishSnapshot(ctx, manifest, key, options)
  const base = { partition, bytesUploaded, chunksUploaded, chunksTotal: chunks.length, epoch: published.epoch }
  if (published.published) return { ...base, lsn: manifest.lsn, snapshotId, rootHash: manifest.rootHash, entries, bytes, published: true }
  // Lost to a newer snapshot: ours is not published (its manifest was deleted); answer with that one.
  const newer = await existingResult(ctx, partition, published.newest, published.epoch)
  return { ...newer, bytesUploaded, chunksUploaded }
}

/**
 * The answer for a snapshot the repository already has (not published by this call). Its counts
 * come from its manifest; a damaged manifest is `verify`'s and a restore's business, not a
 * reason to fail a create that has nothing to publish, so then they are 0.
 */
async function existingResult(ctx: RepositoryContext, partition: string, newest: RetainedSnapshot, epoch: number): Promise<CreateResult> {
  let m: SnapshotManifest | undefined
  try {
    m = await ctx.readManifest(partition, newest.snapshotId, newest.manifestKey)
  } catch (e) {
    if (!isSnapshotDamage(e)) throw e
  }
  return {
    partition,
    lsn: newest.lsn,
    snapshotId: newest.snapshotId,
    rootHash: newest.rootHash,
    bytesUploaded: 0,
    chunksUploaded: 0,
    chunksTotal: m?.chunks.length ?? 0,
    entries: m?.entries ?? 0,
    bytes: m?.bytes ?? 0,
    published: false,
    epoch,
  }
}

/** The source's entries as one iterator (closed by the caller in `finally`). */
function sourceIterator(source: SnapshotSource): AsyncIterator<Entry> & AsyncIterable<Entry> {
  if ('scan' in source) return source.scan()
  const entries = source.entries
  const inner = Symbol.asyncIterator in entries ? (entries as AsyncIterable<Entry>)[Symbol.asyncIterator]() : toAsync((entries as Iterable<Entry>)[Symbol.iterator]())
  const it: AsyncIterator<Entry> & AsyncIterable<Entry> = {
    next: () => inner.next(),
    return: async () => (inner.return === undefined ? { done: true, value: undefined } : await inner.return()),
    [Symbol.asyncIterator]: () => it,
  }
  return it
}

function toAsync(inner: Iterator<Entry>): AsyncIterator<Entry> {
  return {
    next: async () => inner.next(),
    return: async () => (inner.return === undefined ? { done: true, value: undefined } : inner.return()),
  }
}
