/**
 * The snapshot repository: canonical snapshots of partitions in an object store (a local
 * directory or S3), with one CAS-updated `latest.json` per partition. Layout in
 * repository-layout.ts, formats in snapshot-manifest.ts, snapshot-pointer.ts, stored-chunk.ts.
 *
 * Invariants: a chunk is stored before any manifest names it, a manifest before any pointer
 * names it; a pointer never regresses and is written only by compare-and-swap on a store that
 * enforces it (probed once, before the first pointer write); every byte read back is verified
 * against a SHA-256 before it is trusted; a repository error never reads as an empty partition.
 */
import { assert } from '../io/assert.js'
import { assertPartitionId } from '../partition/index.js'
import type { ObjectStore } from '../objectstore/index.js'
import type { ChunkCompression } from './stored-chunk.js'
import { listAll, RepositoryContext } from './repository-context.js'
import { latestKey, partitionsPrefix } from './repository-layout.js'
import { openSnapshot, withSnapshot } from './snapshot-download.js'
import { gcChunks } from './snapshot-gc.js'
import type { SnapshotManifest } from './snapshot-manifest.js'
import type { RetainedSnapshot, SnapshotPointer } from './snapshot-pointer.js'
import { pruneSnapshots } from './snapshot-prune.js'
import type {
  CreateOptions,
  CreateResult,
  FallbackNote,
  GcResult,
  OpenedSnapshot,
  OpenOptions,
  PruneResult,
  SnapshotRepositoryOptions,
  SnapshotSource,
  VerifyResult,
} from './snapshot-types.js'
import { createSnapshot } from './snapshot-upload.js'
import { verifySnapshots } from './snapshot-verify.js'
import { downloadParallelismDefault, gcGraceMsDefault, keepDefault, uploadParallelismDefault } from './snapshot-limits.js'

/**
 * 'auto': deflate for remote stores (bytes cost bandwidth and money there), none for local ones,
 * where deflate on libuv's thread pool competes with the file system's own work and halves
 * create's throughput for little gain.
 */
function compressionFor(store: ObjectStore, wanted: ChunkCompression | 'auto'): ChunkCompression {
  if (wanted !== 'auto') return wanted
  return store.url.startsWith('file://') || store.url.startsWith('memory://') ? 'none' : 'deflate'
}

/** `cairn <version>`, written into every manifest. */
export const producerDefault = 'cairn 0.1.0'

/**
 * Snapshots of partitions in one object store.
 *
 * @example
 * ```ts
 * const repo = await SnapshotRepository.open(await openObjectStore('file:///backups/cairn'))
 * const snap = partition.readSnapshot()
 * try {
 *   const r = await repo.create('orders', { lsn: snap.lsn, logId: partition.logId, scan: () => snap.scan() }, { writer: { storeId } })
 *   console.log(r.snapshotId, r.bytesUploaded, r.epoch)
 * } finally { await snap.close() }
 * const { manifest, entries } = await repo.open('orders')
 * for await (const [key, value] of entries()) ...
 * ```
 */
export class SnapshotRepository {
  readonly #ctx: RepositoryContext

  private constructor(ctx: RepositoryContext) {
    this.#ctx = ctx
  }

  /** Makes no object-store call: the conditional-write probe runs before the first pointer write. */
  static async open(store: ObjectStore, options: SnapshotRepositoryOptions = {}): Promise<SnapshotRepository> {
    const keep = options.keep ?? keepDefault
    assert(Number.isSafeInteger(keep) && keep >= 1, 'keep is a whole number >= 1')
    return new SnapshotRepository(
      new RepositoryContext(store, {
        keep,
        uploadParallelism: options.uploadParallelism ?? uploadParallelismDefault,
        downloadParallelism: options.downloadParallelism ?? downloadParallelismDefault,
        allowUnsafePointerUpdates: options.allowUnsafePointerUpdates ?? false,
        gcGraceMs: options.gcGraceMs ?? gcGraceMsDefault,
        producer: options.producer ?? producerDefault,
        compression: compressionFor(store, options.compression ?? 'auto'),
        now: options.now ?? Date.now,
      }),
    )
  }

  get store(): ObjectStore {
    return this.#ctx.store
  }

  get url(): string {
    return this.#ctx.store.url
  }

  get keep(): number {
    return this.#ctx.options.keep
  }

  /**
   * Makes and publishes a snapshot of `partition` from the state at `source.lsn`; uploads only
   * the chunks the repository lacks. Not newer than the latest: nothing is published
   * (`published: false`, the fields describe the existing latest). Another writer owns the
   * partition: REPOSITORY_FENCED, unless `takeOver`.
   */
  create(partition: string, source: SnapshotSource, options: CreateOptions): Promise<CreateResult> {
    return createSnapshot(this.#ctx, partition, source, options)
  }

  /** The partition's latest.json (newest snapshot first in `snapshots`), or undefined: one GET. */
  async latest(partition: string): Promise<SnapshotPointer | undefined> {
    assertPartitionId(partition)
    return (await this.#ctx.readPointer(partition))?.pointer
  }

  /** The retained snapshots, newest first ([] when there is none). */
  async list(partition: string): Promise<RetainedSnapshot[]> {
    return (await this.latest(partition))?.snapshots ?? []
  }

  /** A snapshot's manifest (default the latest); SNAPSHOT_NOT_FOUND when there is none. */
  async manifest(partition: string, snapshotId?: string): Promise<SnapshotManifest> {
    assertPartitionId(partition)
    if (snapshotId !== undefined) return await this.#ctx.readManifest(partition, snapshotId)
    return (await openSnapshot(this.#ctx, partition)).manifest
  }

  /** Partitions that have a latest.json, sorted. */
  async partitions(): Promise<string[]> {
    const out = new Set<string>()
    for (const o of await listAll(this.#ctx.store, partitionsPrefix)) {
      const m = /^partitions\/([^/]+)\/latest\.json$/.exec(o.key)
      if (m !== null && o.key === latestKey(m[1]!)) out.add(m[1]!)
    }
    return [...out].sort()
  }

  /**
   * Opens a snapshot for reading (default the newest readable one, falling back past damaged
   * manifests; `fellBackFrom` says which were skipped). Chunks are verified as they stream.
   */
  open(partition: string, options: OpenOptions = {}): Promise<OpenedSnapshot> {
    return openSnapshot(this.#ctx, partition, options)
  }

  /**
   * Runs `consume` over the newest snapshot that reads to the end: a chunk found missing or
   * damaged mid-stream makes it run again over the next older one. `consume` must commit nothing
   * before its stream ends (like `Store.restorePartition`).
   *
   * @example
   * const { result, fellBackFrom } = await repo.withSnapshot('orders', (s) => store.restorePartition('orders', { lsn: s.manifest.lsn, entries: s.entries() }))
   */
  withSnapshot<T>(partition: string, consume: (snapshot: OpenedSnapshot) => Promise<T>, options: OpenOptions = {}): Promise<{ result: T; manifest: SnapshotManifest; fellBackFrom?: FallbackNote[] }> {
    return withSnapshot(this.#ctx, partition, consume, options)
  }

  /** Checks every retained snapshot of `partition` (or one): pointer, manifests, every chunk's hash. */
  verify(partition: string, options: { snapshotId?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<VerifyResult> {
    return verifySnapshots(this.#ctx, partition, options)
  }

  /** Keeps the newest `keep` snapshots (CAS on latest.json), deletes the other manifests. */
  prune(partition: string, options: { keep?: number } = {}): Promise<PruneResult> {
    return pruneSnapshots(this.#ctx, partition, options.keep ?? this.#ctx.options.keep)
  }

  /** Mark-and-sweep of chunks no retained manifest names and older than the grace period. */
  gc(options: { graceMs?: number } = {}): Promise<GcResult> {
    return gcChunks(this.#ctx, options.graceMs ?? this.#ctx.options.gcGraceMs)
  }
}
