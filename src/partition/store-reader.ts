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
import { pollIntervalMsDefault } from '../log/file-log-options.js'
import type { LogEntry } from '../log/frame.js'
import type { Log } from '../log/log.js'
import { BlockCache, blockCacheBytesMaxDefault } from '../state/index.js'
import { Catalog, type CatalogPartition } from './catalog.js'
import { catalogMissing, partitionNotFound, storeNotFound } from './not-found.js'
import { EntryReader, noReaderUse } from './entry-reader.js'
import { decodeEntry, type PartitionEntry } from './partition-entry.js'
import { assertPartitionId } from './partition-id.js'
import { openReadOnlyLog, type ReadOnlyPartitionLog, sameChain } from './read-only-log.js'
import { ReadOnlyPartition } from './read-only-partition.js'
import { lostAndFound, partitionDirs } from './store-recovery.js'

export interface StoreReaderOptions {
  fs?: FileSystem
  /** How often `tail` looks for new records (default 100 ms). */
  pollIntervalMs?: number
  /** The one block cache all read-only partition views of this reader share, in bytes (default: the state engine's, 64 MiB). */
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
  readonly #logs = new Map<string, Promise<ReadOnlyPartitionLog>>()
  /** A refresh in flight per partition: others wait for it rather than reopen the chain twice. */
  readonly #refreshing = new Map<string, Promise<boolean>>()
  readonly #views = new Set<ReadOnlyPartition>()
  #closed = false
  #cache: BlockCache | undefined

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
      .map((id) => ({ id, logId: data.partitions[id]!.activeLogId, createdAtMs: data.partitions[id]!.createdAtMs }))
    return { dir: this.dir, storeId: data.storeId, createdAtMs: data.createdAtMs, readOnly: true, asOfMs, partitions, lostAndFound: await lostAndFound(this.#fs, this.dir) }
  }

  /**
   * The partition's metadata as the catalog holds it now (small durable state of higher layers,
   * by namespace: `snapshot`, `ingest`), e.g. for `cairn ingest status` beside a running
   * ingester; `PARTITION_NOT_FOUND` if the catalog has none. Opens no partition.
   *
   * @example
   * const { ingest } = await reader.partitionMeta('pg')
   */
  async partitionMeta(id: string): Promise<Record<string, unknown>> {
    this.#checkOpen()
    assertPartitionId(id)
    return (await this.#entry(id)).meta
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
    this.#checkOpen()
    assertPartitionId(id)
    const view = await ReadOnlyPartition.open({
      fs: this.#fs,
      root: this.dir,
      id,
      loadCatalog: () => this.#catalog(),
      onClose: (closed) => this.#views.delete(closed),
      blockCache: this.#blockCache(),
    })
    this.#views.add(view)
    return view
  }

  /**
   * The partition's chain of logs, read-only, as of the last read or `refresh`;
   * `PARTITION_NOT_FOUND` if the catalog has none. Appends and trims fail with READ_ONLY.
   */
  async log(id: string): Promise<Log> {
    this.#checkOpen()
    assertPartitionId(id)
    return (await this.#opened(id)).chain
  }

  /**
   * Picks up what the owner added since the last look: new records, and the new chain after it
   * rolled to a new log or trimmed whole logs away. Resolves with whether there are new records.
   * Reads and tails do this themselves.
   *
   * @example
   * if (await reader.refresh('orders')) for await (const e of reader.read('orders', { fromLsn: next })) { ... }
   */
  refresh(id: string): Promise<boolean> {
    try {
      this.#checkOpen()
      assertPartitionId(id)
    } catch (e) {
      return Promise.reject(e)
    }
    let running = this.#refreshing.get(id)
    if (running === undefined) {
      running = this.#refresh(id).finally(() => this.#refreshing.delete(id))
      this.#refreshing.set(id, running)
    }
    return running
  }

  /**
   * Entries from `fromLsn` (default: the first retained) through `toLsn` (default: the last the
   * writer has made durable), at most `limit`.
   *
   * @example
   * for await (const e of reader.read('orders', { fromLsn: 100, toLsn: 199 })) console.log(e.lsn, e.ops)
   */
  read(id: string, options: { fromLsn?: number; toLsn?: number; limit?: number } = {}): AsyncGenerator<PartitionEntry> {
    // Decoded as served (not a batch at a time first): one pass over the entries.
    return new EntryReader(noReaderUse, () => this.#batches(id, options), options.limit)
  }

  /**
   * Like `read`, in arrays of entries: the fastest way through a long log.
   *
   * @example
   * for await (const batch of reader.readBatches('orders', { fromLsn: 1 })) for (const e of batch) { ... }
   */
  async *readBatches(id: string, options: { fromLsn?: number; toLsn?: number } = {}): AsyncGenerator<PartitionEntry[]> {
    for await (const batch of this.#batches(id, options)) {
      for (const entry of batch) decodeEntry(entry)
      yield batch as PartitionEntry[]
    }
  }

  /**
   * Entries from `fromLsn` (default: the first retained), then new ones as the writer adds them,
   * across its rolls to new logs, until `signal` aborts or the reader closes.
   */
  async *tail(id: string, fromLsn: number | undefined, options: { signal?: AbortSignal } = {}): AsyncGenerator<PartitionEntry> {
    const { signal } = options
    const stopped = (): boolean => signal?.aborted === true || this.#closed
    let next = fromLsn
    while (!stopped()) {
      for await (const batch of this.readBatches(id, next === undefined ? {} : { fromLsn: next })) {
        for (const entry of batch) {
          yield entry
          next = entry.lsn + 1
          if (stopped()) return
        }
      }
      next ??= (await this.#opened(id)).chain.firstLsn
      await sleep(this.#options.pollIntervalMs ?? pollIntervalMsDefault, signal)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const view of [...this.#views]) await view.close().catch(() => undefined)
    await Promise.all([...this.#refreshing.values()].map((r) => r.catch(() => undefined)))
    const logs = [...this.#logs.values()]
    this.#logs.clear()
    for (const opening of logs) await (await opening.catch(() => undefined))?.chain.close()
  }

  async #catalog(): Promise<Catalog> {
    const catalog = await Catalog.load(this.#fs, this.dir)
    if (catalog === undefined) throw new CairnError('STORE_NOT_FOUND', `the store in ${this.dir} is gone`, { context: { dir: this.dir } })
    return catalog
  }

  /** The log's raw batches, after a look for what the owner added. */
  async *#batches(id: string, options: { fromLsn?: number; toLsn?: number }): AsyncGenerator<LogEntry[]> {
    await this.refresh(id)
    const { chain, active, links } = await this.#opened(id)
    const from = options.fromLsn ?? chain.firstLsn
    // A read within the active log (the common case) goes to it directly: the chain's layer of
    // generators costs a read loop some 15% of its CPU (bench/ab-store-reader.ts).
    yield* (from >= links[links.length - 1]!.firstLsn ? active : chain).readBatches(from, options.toLsn)
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `the reader of ${this.dir} is closed: open a new one`, { context: { dir: this.dir } })
  }

  /** Made at the first view: a reader that only reads logs holds none. */
  #blockCache(): BlockCache {
    this.#cache ??= new BlockCache(this.#options.blockCacheBytesMax ?? blockCacheBytesMaxDefault)
    return this.#cache
  }

  async #entry(id: string): Promise<CatalogPartition> {
    const entry = (await this.#catalog()).partition(id)
    if (entry === undefined) throw partitionNotFound(id)
    return entry
  }

  /** The partition's chain as last opened (opened from the catalog the first time). */
  #opened(id: string): Promise<ReadOnlyPartitionLog> {
    let opening = this.#logs.get(id)
    if (opening === undefined) {
      opening = this.#entry(id).then((entry) => this.#openLog(id, entry))
      this.#logs.set(id, opening)
      opening.catch(() => {
        if (this.#logs.get(id) === opening) this.#logs.delete(id)
      })
    }
    return opening
  }

  #openLog(id: string, entry: CatalogPartition): Promise<ReadOnlyPartitionLog> {
    return openReadOnlyLog(this.#fs, this.dir, id, entry, {
      ...(this.#options.pollIntervalMs !== undefined && { pollIntervalMs: this.#options.pollIntervalMs }),
    })
  }

  async #refresh(id: string): Promise<boolean> {
    const current = await this.#opened(id)
    const before = current.chain.lastLsn
    const entry = await this.#entry(id)
    if (sameChain(current.links, entry.logs)) {
      await current.active.refresh()
      return current.chain.lastLsn > before
    }
    // The owner rolled to a new log or dropped old ones: the chain as the catalog names it now.
    const reopened = this.#openLog(id, entry)
    await reopened
    this.#logs.set(id, reopened)
    await current.chain.close().catch(() => undefined)
    return (await reopened).chain.lastLsn > before
  }
}

/** Waits `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
