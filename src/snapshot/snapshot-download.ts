/**
 * Reading a snapshot back: the manifest, then its chunks downloaded ahead in parallel (bounded)
 * and yielded in order, each verified against its id (and its manifest's sizes and key order)
 * before any of its entries is yielded.
 *
 * Fallback: without a chosen snapshot id, the retained snapshots are tried newest first; one
 * whose manifest is missing or damaged is skipped and noted (`fellBackFrom`). `withSnapshot`
 * goes further: it runs a consumer over the entries and, if a chunk turns out missing or damaged
 * mid-stream, runs it again over the next older snapshot (the consumer must not commit before
 * the stream ends, as `Store.restorePartition` does not). A repository that cannot be reached is
 * an error, never an empty partition; when no snapshot can be read the error says why for each.
 */
import { CairnError, CorruptionError, isCairnError } from '../io/errors.js'
import { assertPartitionId } from '../partition/index.js'
import { decodeEntries } from './canonical-entries.js'
import type { RepositoryContext } from './repository-context.js'
import { chunkKey } from './repository-layout.js'
import { corrupt, type SnapshotManifest } from './snapshot-manifest.js'
import type { RetainedSnapshot } from './snapshot-pointer.js'
import type { FallbackNote, OpenedSnapshot, OpenOptions, OpenProgress } from './snapshot-types.js'
import { decodeStoredChunk } from './stored-chunk.js'

/** Errors that mean "this snapshot is damaged or incomplete", so an older one may serve. */
export function isSnapshotDamage(e: unknown): boolean {
  return isCairnError(e, 'CORRUPT_SNAPSHOT') || isCairnError(e, 'SNAPSHOT_NOT_FOUND') || isCairnError(e, 'OBJECT_NOT_FOUND') || isCairnError(e, 'UNSUPPORTED_FORMAT')
}

export async function openSnapshot(ctx: RepositoryContext, partition: string, options: OpenOptions = {}): Promise<OpenedSnapshot> {
  for await (const opened of candidates(ctx, partition, options)) return opened
  throw new Error('unreachable: candidates yields or throws')
}

/**
 * Runs `consume` over the newest snapshot it can read to the end, falling back on damage found
 * in its manifest or mid-stream in its chunks.
 */
export async function withSnapshot<T>(
  ctx: RepositoryContext,
  partition: string,
  consume: (snapshot: OpenedSnapshot) => Promise<T>,
  options: OpenOptions = {},
): Promise<{ result: T; manifest: SnapshotManifest; fellBackFrom?: FallbackNote[] }> {
  const streamFailures: FallbackNote[] = []
  for await (const opened of candidates(ctx, partition, options, streamFailures)) {
    let streamError: unknown
    const guarded: OpenedSnapshot = {
      ...opened,
      entries: async function* () {
        try {
          yield* opened.entries()
        } catch (e) {
          streamError = e
          throw e
        }
      },
    }
    try {
      const result = await consume(guarded)
      const fellBackFrom = opened.fellBackFrom
      return { result, manifest: opened.manifest, ...(fellBackFrom !== undefined && { fellBackFrom }) }
    } catch (e) {
      if (e !== streamError || !isSnapshotDamage(e) || options.snapshotId !== undefined) throw e
      streamFailures.push(note(opened.manifest, e))
    }
  }
  throw new Error('unreachable: candidates yields or throws')
}

/** The readable snapshots, newest first; throws when none is left. */
async function* candidates(ctx: RepositoryContext, partition: string, options: OpenOptions, extraNotes: FallbackNote[] = []): AsyncGenerator<OpenedSnapshot> {
  assertPartitionId(partition)
  if (options.snapshotId !== undefined) {
    const manifest = await ctx.readManifest(partition, options.snapshotId)
    yield opened(ctx, manifest, [], options)
    throw new Error('unreachable: a chosen snapshot has no fallback')
  }
  const current = await ctx.readPointer(partition)
  if (current === undefined) {
    throw new CairnError('SNAPSHOT_NOT_FOUND', `partition ${partition} has no snapshot in ${ctx.store.url}: create one with cairn snapshot create`, { context: { partition } })
  }
  const notes: FallbackNote[] = []
  for (const retained of current.pointer.snapshots) {
    let manifest: SnapshotManifest
    try {
      manifest = await retainedManifest(ctx, partition, retained)
    } catch (e) {
      if (!isSnapshotDamage(e)) throw e
      notes.push({ snapshotId: retained.snapshotId, lsn: retained.lsn, code: (e as CairnError).code, message: (e as Error).message })
      continue
    }
    yield opened(ctx, manifest, [...notes, ...extraNotes], options)
    // Back here: the consumer found this one damaged mid-stream (noted in extraNotes).
  }
  const all = [...notes, ...extraNotes]
  throw new CorruptionError(
    'CORRUPT_SNAPSHOT',
    `no retained snapshot of partition ${partition} in ${ctx.store.url} can be read (${all.map((n) => `${n.snapshotId}: ${n.code}`).join('; ')}): run cairn snapshot verify --partition ${partition} for the damaged objects`,
    { context: { partition, tried: all.length } },
  )
}

/** The manifest a pointer entry names, checked against that entry. */
async function retainedManifest(ctx: RepositoryContext, partition: string, retained: RetainedSnapshot): Promise<SnapshotManifest> {
  const manifest = await ctx.readManifest(partition, retained.snapshotId, retained.manifestKey)
  if (manifest.lsn !== retained.lsn || manifest.rootHash !== retained.rootHash) {
    throw corrupt(retained.manifestKey, 'manifest', 'its LSN or root hash differ from what latest.json records')
  }
  return manifest
}

function note(manifest: SnapshotManifest, e: unknown): FallbackNote {
  return { snapshotId: manifest.snapshotId, lsn: manifest.lsn, code: (e as CairnError).code, message: (e as Error).message }
}

function opened(ctx: RepositoryContext, manifest: SnapshotManifest, notes: FallbackNote[], options: OpenOptions): OpenedSnapshot {
  return {
    manifest,
    entries: () => readEntries(ctx, manifest, options.onProgress),
    ...(notes.length > 0 && { fellBackFrom: notes }),
  }
}

/**
 * The entries of a manifest's chunks, in order, verified chunk by chunk.
 *
 * @example for await (const [k, v] of readEntries(ctx, manifest)) ...
 */
export async function* readEntries(ctx: RepositoryContext, manifest: SnapshotManifest, onProgress?: (p: OpenProgress) => void): AsyncGenerator<[Uint8Array, Uint8Array]> {
  const { chunks } = manifest
  const ahead = ctx.options.downloadParallelism
  const pending: Promise<[Uint8Array, Uint8Array][]>[] = []
  let next = 0
  const fetchChunk = async (i: number): Promise<[Uint8Array, Uint8Array][]> => {
    const c = chunks[i]!
    const key = chunkKey(c.id)
    let body: Awaited<ReturnType<typeof ctx.store.get>>
    try {
      body = await ctx.store.get(key)
    } catch (e) {
      if (!isCairnError(e, 'OBJECT_NOT_FOUND')) throw e
      throw new CorruptionError('CORRUPT_SNAPSHOT', `chunk ${key} of snapshot ${manifest.snapshotId} is missing: the snapshot is incomplete; run cairn snapshot verify`, {
        context: { key, snapshotId: manifest.snapshotId, detail: 'missing' },
        cause: e,
      })
    }
    const canonical = await decodeStoredChunk(body.bytes, c.id, key, c.bytes)
    const entries = decodeEntries(canonical, key)
    if (entries.length !== c.entries) throw corrupt(key, 'chunk', `it holds ${entries.length} entries, its manifest says ${c.entries}`)
    return entries
  }
  const fill = () => {
    while (next < chunks.length && pending.length < ahead) {
      const p = fetchChunk(next++)
      p.catch(() => undefined) // awaited in order below; do not report it unhandled meanwhile
      pending.push(p)
    }
  }
  let previousKey: Uint8Array | undefined
  let bytesDone = 0
  const bytesTotal = manifest.bytes
  for (let i = 0; i < chunks.length; i++) {
    fill()
    const entries = await pending.shift()!
    const key = chunkKey(chunks[i]!.id)
    if (previousKey !== undefined && Buffer.compare(previousKey, entries[0]![0]) >= 0) throw corrupt(key, 'chunk', 'its first key is not after the previous chunk\'s last key')
    previousKey = entries.at(-1)![0]
    bytesDone += chunks[i]!.bytes
    onProgress?.({ chunksDone: i + 1, chunksTotal: chunks.length, bytesDone, bytesTotal })
    for (const e of entries) yield e
  }
}
