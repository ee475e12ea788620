/**
 * Reading a store without owning it: no lock, no recovery writes, so a CLI can read and follow a
 * partition's log, and read its key-value state, while a server (or any other process) writes
 * to it.
 *
 * Invariants:
 * - nothing is written: the catalog, segments, manifests and tables are only read (the catalog
 *   is replaced atomically by its owner, so a read sees one whole version);
 * - a reader never returns bytes a checksum did not vouch for; a write in progress at the end
 *   of the last segment is simply not there yet;
 * - listing partitions and `info()` read the catalog only: they open no partition.
 */
import { posix } from 'node:path'
import { CairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import type { FileLog } from '../log/file-log.js'
import { Catalog } from './catalog.js'
import { catalogMissing, partitionNotFound, storeNotFound } from './not-found.js'
import { decodeEntry, type PartitionEntry } from './partition-entry.js'
import { assertPartitionId } from './partition-id.js'
import { openReadOnlyLog } from './read-only-log.js'
import { ReadOnlyPartition } from './read-only-partition.js'
import { lostAndFound, partitionDirs } from './store-recovery.js'

export interface StoreReaderOptions {
  fs?: FileSystem
  /** How often `tail` looks for new records (default 100 ms). */
  pollIntervalMs?: number
  /** Block cache of each read-only partition view, in bytes (default: the state engine's). */
  blockCacheBytesMax?: number
}

/** A partition as the catalog lists it (no partition is opened to list it). */
export interface StoreReaderPartition {
  id: string
  logId: string
  createdAtMs: number
}

/** The store as a reader sees it from the catalog, at one moment. */
export interface StoreReaderInfo {
  dir: string
  storeId: string
  createdAtMs: number
  /** Always true: a view of a store another process may be writing to. */
  readOnly: true
  /** When the catalog was read (ms since the epoch). */
  asOfMs: number
  partitions: StoreReaderPartition[]
  /** Directories in `<dir>/lost+found/` (orphans a store's open moved aside): for a human to check. */
  lostAndFound: string[]
}

/**
 * @example
 * const reader = await StoreReader.open('./cairn-data')
 * for await (const e of reader.tail('orders', 1, { signal })) console.log(e.lsn, e.payload)
 * const view = await reader.openPartition('orders')   // its key-value state as of now
 * console.log(await view.get('order/7'))
 * await view.close()
 * await reader.close()
 */
export class StoreReader {
  readonly dir: string
  readonly #fs: FileSystem
  readonly #options: StoreReaderOptions
  readonly #logs = new Map<string, Promise<FileLog>>()
  readonly #views = new Set<ReadOnlyPartition>()

  private constructor(dir: string, fs: FileSystem, options: StoreReaderOptions) {
    this.dir = dir
    this.#fs = fs
    this.#options = options
  }

  static async open(dir: string, options: StoreReaderOptions = {}): Promise<StoreReader> {
    const fs = options.fs ?? new NodeFileSystem()
    const root = posix.resolve(dir)
    if ((await Catalog.load(fs, root)) === undefined) {
      const found = await partitionDirs(fs, root)
      throw found.length > 0 ? catalogMissing(root, found) : storeNotFound(root)
    }
    return new StoreReader(root, fs, options)
  }

  /** Partition ids, as of the catalog now. */
  async partitions(): Promise<string[]> {
    return (await this.#catalog()).partitionIds()
  }

  /**
   * The store and its partitions as the catalog lists them now; opens no partition (a
   * partition's LSNs and tables: `openPartition(id)` then `info()`).
   *
   * @example
   * const { storeId, partitions } = await reader.info()
   */
  async info(): Promise<StoreReaderInfo> {
    const asOfMs = Date.now()
    const data = (await this.#catalog()).data
    const partitions = Object.keys(data.partitions)
      .sort()
      .map((id) => ({ id, logId: data.partitions[id]!.logId, createdAtMs: data.partitions[id]!.createdAtMs }))
    return { dir: this.dir, storeId: data.storeId, createdAtMs: data.createdAtMs, readOnly: true, asOfMs, partitions, lostAndFound: await lostAndFound(this.#fs, this.dir) }
  }

  /**
   * A read-only view of a partition's key-value state as of now: its tables plus its log
   * replayed in memory, nothing written (see read-only-partition.ts). Every write the owner
   * acknowledged before the call is in it (when the owner still had other writes in flight,
   * once its log shows it: see file-log.ts). Close it when done (`close()` of the reader closes
   * those still open). `PARTITION_NOT_FOUND` if the catalog has none; `STORE_BUSY` if the owner
   * kept changing the files it needed (retry).
   *
   * @example
   * const view = await reader.openPartition('orders')
   * try { for await (const [k, v] of view.scan({ gte: 'order/' })) console.log(k, v) } finally { await view.close() }
   */
  async openPartition(id: string): Promise<ReadOnlyPartition> {
    assertPartitionId(id)
    const view = await ReadOnlyPartition.open({
      fs: this.#fs,
      root: this.dir,
      id,
      loadCatalog: () => this.#catalog(),
      onClose: (closed) => this.#views.delete(closed),
      ...(this.#options.blockCacheBytesMax !== undefined && { blockCacheBytesMax: this.#options.blockCacheBytesMax }),
    })
    this.#views.add(view)
    return view
  }

  /** The read-only log of a partition; `PARTITION_NOT_FOUND` if the catalog has none. */
  async log(id: string): Promise<FileLog> {
    assertPartitionId(id)
    let opening = this.#logs.get(id)
    if (opening === undefined) {
      opening = this.#openLog(id)
      this.#logs.set(id, opening)
      opening.catch(() => this.#logs.delete(id))
    }
    return await opening
  }

  /**
   * Entries from `fromLsn` (default: the first retained) through `toLsn` (default: the last the
   * writer has made durable), at most `limit`.
   *
   * @example
   * for await (const e of reader.read('orders', { fromLsn: 100, toLsn: 199 })) console.log(e.lsn, e.ops)
   */
  async *read(id: string, options: { fromLsn?: number; toLsn?: number; limit?: number } = {}): AsyncGenerator<PartitionEntry> {
    let left = options.limit ?? Number.POSITIVE_INFINITY
    if (left <= 0) return
    for await (const batch of this.readBatches(id, options)) {
      for (const entry of batch) {
        yield entry
        if (--left <= 0) return
      }
    }
  }

  /**
   * Like `read`, in arrays of entries: the fastest way through a long log.
   *
   * @example
   * for await (const batch of reader.readBatches('orders', { fromLsn: 1 })) for (const e of batch) { ... }
   */
  async *readBatches(id: string, options: { fromLsn?: number; toLsn?: number } = {}): AsyncGenerator<PartitionEntry[]> {
    const log = await this.log(id)
    await log.refresh()
    for await (const batch of log.readBatches(options.fromLsn ?? log.firstLsn, options.toLsn)) {
      for (const entry of batch) decodeEntry(entry)
      yield batch as PartitionEntry[]
    }
  }

  /** Entries from `fromLsn`, then new ones as the writer adds them, until `signal` aborts. */
  async *tail(id: string, fromLsn: number | undefined, options: { signal?: AbortSignal } = {}): AsyncGenerator<PartitionEntry> {
    const log = await this.log(id)
    await log.refresh()
    for await (const entry of log.tail(fromLsn ?? log.firstLsn, options)) yield decodeEntry(entry)
  }

  async close(): Promise<void> {
    for (const view of [...this.#views]) await view.close().catch(() => undefined)
    const logs = [...this.#logs.values()]
    this.#logs.clear()
    for (const opening of logs) await (await opening.catch(() => undefined))?.close()
  }

  async #catalog(): Promise<Catalog> {
    const catalog = await Catalog.load(this.#fs, this.dir)
    if (catalog === undefined) throw new CairnError('STORE_NOT_FOUND', `the store in ${this.dir} is gone`, { context: { dir: this.dir } })
    return catalog
  }

  async #openLog(id: string): Promise<FileLog> {
    const entry = (await this.#catalog()).partition(id)
    if (entry === undefined) {
      throw partitionNotFound(id)
    }
    return await openReadOnlyLog(this.#fs, this.dir, id, entry, {
      ...(this.#options.pollIntervalMs !== undefined && { pollIntervalMs: this.#options.pollIntervalMs }),
    })
  }
}
