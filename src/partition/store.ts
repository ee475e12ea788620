/**
 * A store: one data directory, owned by one process, holding partitions and the catalog.
 *
 * Invariants:
 * - a store is open in at most one place at a time (lock file; STORE_LOCKED otherwise);
 * - a partition exists iff the catalog lists it; its directory is made durable before the
 *   catalog entry; directories the catalog does not list (a crash mid-create) are moved to
 *   `lost+found/` at open, and a missing catalog over partition directories is CORRUPT_CATALOG;
 * - at open, everything the store relies on is fsynced before it is trusted (store-recovery.ts),
 *   each partition's own directories at its first open (open-partition-log.ts);
 * - partition ids are validated before any path is built from them;
 * - memory and descriptors do not grow with the number of partitions: opening the store and
 *   `info()` open no partition; at most `openPartitionsMax` are open (partition-pool.ts: idle
 *   ones are closed, least recently used first); all memtables share one budget
 *   (memory-budget.ts) and all tables one block cache;
 * - one open partition object per id: a restore closes it through the pool and reopens through it.
 *
 * Layout: store-layout.ts.
 */
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { mkdirDurable } from '../io/atomic-write.js'
import { CairnError, isCairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import type { LogChain, LogChainLink } from '../log/log-chain.js'
import { BlockCache } from '../state/index.js'
import { type Catalog, type CatalogPartition, newCatalogPartition } from './catalog.js'
import { CatalogRegistrations } from './catalog-registrations.js'
import { MemoryBudget } from './memory-budget.js'
import { newStoreFileId, openPartitionLog, rollPartitionLog } from './open-partition-log.js'
import { partitionNotFound, storeNotFound } from './not-found.js'
import { Partition, type PartitionOptions, type PartitionSettings } from './partition.js'
import { assertPartitionId } from './partition-id.js'
import { PartitionPool } from './partition-pool.js'
import type { PartitionRecovery } from './partition-recovery.js'
import type { Reducer } from './reducer.js'
import { type StoreInfo, storeInfo } from './store-info.js'
import { checkpointManifestFileName, StoreLayout } from './store-layout.js'
import { evictFlushBytesMin, resolveStoreLimits, type StoreLimits } from './store-limits.js'
import { StoreLock } from './store-lock.js'
import type { StorePartitionInfo } from './store-partition-info.js'
import { type RestorePartitionInput, restorePartitionFiles } from './store-restore.js'
import { recoverStore } from './store-recovery.js'

export type { StoreInfo }

/**
 * In a store, `memtableBytesMax` is each partition's own cap within the memory budget (default
 * 64 MiB or the budget's memtable half, whichever is smaller), and `blockCacheBytesMax`, when
 * given, caps the one shared block cache further (store-limits.ts).
 */
export interface StoreOptions extends PartitionSettings {
  /** The file system (default: the real one). */
  fs?: FileSystem
  /** Create the store if the directory holds none (default true). */
  create?: boolean
  /** The reducer of every partition that `reducers` does not name. */
  reducer?: Reducer
  /** Reducers by partition id. */
  reducers?: Record<string, Reducer>
  /**
   * The store's memory for state, in bytes (default 256 MiB): half bounds the sum of all
   * partitions' unflushed memtables, half is the one block cache they share (store-limits.ts).
   */
  memoryBytesMax?: number
  /** Partitions open at once (default 256); idle ones are closed, least recently used first. */
  openPartitionsMax?: number
}

/**
 * A `Partition` from `partition()`, `createPartition()` or `ensurePartition()` is the live
 * partition while it stays open; to stay within `openPartitionsMax` the store closes idle
 * partitions (no write in flight, no read, tail, scan, snapshot, retained state, trim hold or
 * pause open), least recently used first. A call on a partition closed that way fails with
 * `CLOSED`, saying to call `store.partition(id)` again, which reopens it. Ask the store for a
 * partition when you need it (a lookup while it is open) rather than holding one across idle
 * periods.
 *
 * @example
 * const store = await Store.open('./cairn-data')
 * const orders = await store.ensurePartition('orders')
 * await orders.append(['{"id":1}'])
 * await store.close()
 */
export class Store {
  readonly dir: string
  readonly fs: FileSystem
  readonly #options: StoreOptions
  readonly #limits: StoreLimits
  readonly #layout: StoreLayout
  readonly #catalog: Catalog
  readonly #registrations: CatalogRegistrations
  readonly #lock: StoreLock
  readonly #budget: MemoryBudget
  /** One cache for the tables of every partition (LRU by bytes): the budget's other half. */
  readonly #blockCache: BlockCache
  readonly #pool: PartitionPool<Partition>
  readonly #accounts = new Map<string, ReturnType<MemoryBudget['open']>>()
  /** The log chain each open partition writes through (for rollovers). */
  readonly #chains = new WeakMap<Partition, LogChain>()
  /** Creations and restores in flight, by id: `partition(id)` answers with them meanwhile. */
  readonly #creating = new Map<string, Promise<Partition>>()
  /** Figures of partitions as they were closed, and of partitions looked at on disk, for `info()`. */
  readonly #closedInfo = new Map<string, StorePartitionInfo>()
  /**
   * Partitions this process closed cleanly (`Partition.closedCleanly`) and that nothing touched
   * since (only this process can: it holds the lock): their next open skips the recovery fsyncs
   * (`trustedClean`), which protect only against what a previous process left unsynced. An open
   * takes the id out; a restore, or a failed roll, keeps it out.
   */
  readonly #cleanClosed = new Set<string>()
  /** Partitions a failed roll touched: never reopened trusted while this store is open. */
  readonly #suspect = new Set<string>()
  /** Restores what the store cannot open by itself (partition-recovery.ts), when attached. */
  #recovery: PartitionRecovery | undefined
  #closed = false

  private constructor(dir: string, fs: FileSystem, options: StoreOptions, limits: StoreLimits, catalog: Catalog, lock: StoreLock) {
    this.dir = dir
    this.fs = fs
    this.#options = options
    this.#limits = limits
    this.#layout = new StoreLayout(dir)
    this.#catalog = catalog
    this.#registrations = new CatalogRegistrations(catalog)
    this.#lock = lock
    this.#budget = new MemoryBudget(limits.memtablesBytesMax)
    this.#blockCache = new BlockCache(limits.blockCacheBytesMax)
    this.#pool = new PartitionPool<Partition>({ openMax: limits.openPartitionsMax, evict: (id, p) => this.#evict(id, p) })
  }

  static async open(dir: string, options: StoreOptions = {}): Promise<Store> {
    const limits = resolveStoreLimits(options)
    const fs = options.fs ?? new NodeFileSystem()
    const root = posix.resolve(dir)
    if ((await fs.stat(root)) === undefined) {
      if (options.create === false) throw storeNotFound(root)
      await mkdirDurable(fs, root)
    }
    // A checkpoint is a backup: opening it would write into it (lock, recovery, appends).
    if ((await fs.stat(posix.join(root, checkpointManifestFileName))) !== undefined) {
      throw new CairnError('IS_CHECKPOINT', `${root} is a checkpoint (it holds ${checkpointManifestFileName}): restore it into a new directory (cairn backup restore ${root} --to DIR) and open that`, {
        context: { path: root },
      })
    }
    const lock = await StoreLock.acquire(fs, root)
    try {
      const catalog = await recoverStore(fs, root, options.create !== false)
      return new Store(root, fs, options, limits, catalog, lock)
    } catch (e) {
      await lock.release()
      throw e
    }
  }

  get storeId(): string {
    return this.#catalog.data.storeId
  }

  /** @internal The catalog, for layers above the partition (snapshots, ingest). */
  get catalog(): Catalog {
    return this.#catalog
  }

  /** Ids of all partitions, sorted. */
  partitions(): string[] {
    return this.#catalog.partitionIds()
  }

  hasPartition(id: string): boolean {
    assertPartitionId(id)
    return this.#catalog.has(id)
  }

  /**
   * Opens an existing partition (or hands out the open one); `PARTITION_NOT_FOUND` if there is
   * none. With a recovery attached (`attachRecovery`), a partition the catalog lacks is first
   * offered to its `bootstrap`, and one whose open fails with TRIM_GAP to its `repairTrimGap`.
   */
  partition(id: string): Promise<Partition> {
    this.#checkOpen()
    assertPartitionId(id)
    const creating = this.#creating.get(id)
    if (creating !== undefined) return creating
    // The catalog is asked only when the partition is not open (its entry is a copy).
    if (this.#pool.peek(id) === undefined && !this.#catalog.has(id)) {
      if (this.#recovery === undefined) return Promise.reject(partitionNotFound(id))
      return this.#bootstrapThenOpen(id, () => Promise.reject(partitionNotFound(id)))
    }
    const open = this.#pool.acquire(id, () => this.#openPartition(id, this.#catalog.partition(id)!, false))
    return this.#recovery === undefined ? open : open.catch((e) => this.#afterOpenFailed(id, e))
  }

  /**
   * @internal Attaches what restores partitions the store cannot open by itself (the snapshot
   * manager: partition-recovery.ts); `undefined` detaches it.
   */
  attachRecovery(recovery: PartitionRecovery | undefined): void {
    this.#recovery = recovery
  }

  /** A partition the catalog lacks: the recovery's bootstrap, then the open (or `otherwise`). */
  async #bootstrapThenOpen(id: string, otherwise: () => Promise<Partition>): Promise<Partition> {
    const restored = await this.#recovery!.bootstrap(id)
    this.#checkOpen()
    if (!restored && !this.#catalog.has(id) && !this.#creating.has(id)) return await otherwise()
    return await this.#pool.acquire(id, () => this.#openPartition(id, this.#catalog.partition(id)!, false))
  }

  /** An open that failed: a TRIM_GAP is offered to the recovery once, then the open is tried again. */
  async #afterOpenFailed(id: string, e: unknown): Promise<Partition> {
    if (!isCairnError(e, 'TRIM_GAP') || this.#recovery === undefined) throw e
    if (!(await this.#recovery.repairTrimGap(id, e))) throw e
    this.#checkOpen()
    // The repair restored through restorePartition, which opened it: this is that partition.
    return await (this.#creating.get(id) ?? this.#pool.acquire(id, () => this.#openPartition(id, this.#catalog.partition(id)!, false)))
  }

  /** Creates a partition; `PARTITION_EXISTS` if it exists. Concurrent creations share catalog writes. */
  createPartition(id: string): Promise<Partition> {
    this.#checkOpen()
    assertPartitionId(id)
    if (this.#creating.has(id) || this.#catalog.has(id)) {
      return Promise.reject(new CairnError('PARTITION_EXISTS', `partition ${id} already exists`, { context: { partition: id } }))
    }
    const entry = newCatalogPartition(newStoreFileId())
    const run = this.#pool.acquire(id, async () => {
      const partition = await this.#openPartition(id, entry, true)
      try {
        await this.#registrations.add(id, entry)
      } catch (e) {
        await this.#closePartition(id, partition).catch(() => undefined)
        throw e
      }
      return partition
    })
    return this.#track(id, run)
  }

  /**
   * Restores partition `id` from a state: its state bulk-loaded from `entries` (sorted by key,
   * each once) at LSN `lsn`, its log a new one starting at `lsn + 1`. A new partition, or the
   * replacement of an existing one, switched atomically (store-restore.ts): an open partition is
   * closed first, through the pool (its in-flight writes drain; the object callers hold answers
   * CLOSED after), and the restored one is opened through it. With `keepLog`, only the state of
   * an existing partition is replaced and its log chain kept: the records after `lsn` are
   * replayed into it (the repair of a TRIM_GAP, from a snapshot at or past the gap).
   *
   * @example
   * const orders = await store.restorePartition('orders', { lsn: 42, entries: [[key, value]] })
   * const repaired = await store.restorePartition('gapped', { lsn: 900, entries, keepLog: true })
   */
  restorePartition(id: string, input: RestorePartitionInput): Promise<Partition> {
    this.#checkOpen()
    assertPartitionId(id)
    const previous = this.#creating.get(id)
    const run = (async () => {
      await previous?.catch(() => undefined)
      const reason = `partition ${id} was replaced by a restore: call store.partition(${JSON.stringify(id)}) again`
      await this.#pool.remove(id, (p) => this.#closePartition(id, p, reason))
      this.#closedInfo.delete(id)
      this.#cleanClosed.delete(id)
      const { fs: _fs, create: _create, reducer: _reducer, reducers: _reducers, ...settings } = this.#options
      const entry = await restorePartitionFiles({ fs: this.fs, layout: this.#layout, catalog: this.#catalog, id, input, settings })
      return await this.#pool.acquire(id, () => this.#openPartition(id, entry, false))
    })()
    return this.#track(id, run)
  }

  /**
   * @internal Rolls the partition's log over to a new one at its last LSN + 1 (crash-safe; see
   * open-partition-log.ts). For operations that start a new log, and tests. The partition comes
   * from the pool and is kept open (not evicted) until the roll is done.
   */
  async rollPartitionLog(id: string): Promise<LogChainLink> {
    const partition = await this.partition(id)
    const release = partition.keepOpen()
    try {
      const chain = this.#chains.get(partition)
      assert(chain !== undefined, 'an open partition has its chain')
      const { fs: _fs, create: _create, reducer: _reducer, reducers: _reducers, ...settings } = this.#options
      return await rollPartitionLog({ fs: this.fs, layout: this.#layout, catalog: this.#catalog, id, chain, settings })
    } catch (e) {
      this.#suspect.add(id)
      throw e
    } finally {
      release()
    }
  }

  /** Opens the partition, creating it if missing (after offering it to the recovery's bootstrap, if attached). */
  async ensurePartition(id: string): Promise<Partition> {
    assertPartitionId(id)
    await this.#creating.get(id)?.catch(() => undefined)
    if (this.#pool.peek(id) !== undefined || this.#catalog.has(id)) return await this.partition(id)
    if (this.#recovery !== undefined) return await this.#bootstrapThenOpen(id, () => this.#create(id))
    return await this.#create(id)
  }

  async #create(id: string): Promise<Partition> {
    try {
      return await this.createPartition(id)
    } catch (e) {
      if (isCairnError(e, 'PARTITION_EXISTS')) return await this.partition(id)
      throw e
    }
  }

  /**
   * The store and every partition, opening none: start-up, `cairn info` and the server's
   * status cost the same whatever the number of partitions (a partition never open since the
   * store opened is looked at on disk once, a few at a time, then remembered).
   */
  async info(): Promise<StoreInfo> {
    this.#checkOpen()
    const { dir, fs } = this
    return await storeInfo({ dir, fs, catalog: this.#catalog, layout: this.#layout, pool: this.#pool, closedInfo: this.#closedInfo, limits: this.#limits, budget: this.#budget, blockCache: this.#blockCache })
  }

  /** @internal What the memory budget counts now (for tests and metrics). */
  get memtableBytes(): number {
    return this.#budget.bytes
  }

  /** @internal Partitions open or opening now. */
  get openPartitionCount(): number {
    return this.#pool.size
  }

  /** Finishes in-flight appends, creations and restores, closes every partition and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.#creating.values()].map((run) => run.catch(() => undefined)))
    const errors = await this.#pool.close((id, p) => this.#closePartition(id, p))
    await this.#lock.release()
    if (errors.length > 0) throw errors[0]
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `store ${this.dir} is closed: open it again`)
  }

  /** `run` answers `partition(id)` until it settles. */
  #track(id: string, run: Promise<Partition>): Promise<Partition> {
    this.#creating.set(id, run)
    const settled = (): void => {
      if (this.#creating.get(id) === run) this.#creating.delete(id)
    }
    run.then(settled, settled)
    return run
  }

  async #openPartition(id: string, entry: CatalogPartition, create: boolean): Promise<Partition> {
    const { fs: _fs, create: _create, reducer, reducers, memoryBytesMax: _m, openPartitionsMax: _o, ...settings } = this.#options
    const layout = this.#layout
    const account = this.#budget.open()
    // Taken out here: whatever happens to this open, the files are no longer as the clean close left them.
    const trustedClean = !create && this.#cleanClosed.delete(id)
    try {
      const log = await openPartitionLog({ fs: this.fs, layout, catalog: this.#catalog, id, entry, settings, create, trustedClean })
      const options: PartitionOptions = {
        ...settings,
        memtableBytesMax: this.#limits.partitionMemtableBytesMax,
        blockCache: this.#blockCache,
        id,
        dir: layout.stateHome(id, entry.stateId),
        fs: this.fs,
        log,
        reducer: reducers?.[id] ?? reducer,
        memory: account,
        trustedClean,
      }
      const partition = await Partition.open(options)
      account.bind(() => partition.flush())
      this.#accounts.set(id, account)
      this.#chains.set(partition, log)
      this.#closedInfo.delete(id)
      return partition
    } catch (e) {
      account.close()
      throw e
    }
  }

  async #closePartition(id: string, partition: Partition, reason?: string): Promise<void> {
    try {
      await partition.close(reason)
      if (partition.closedCleanly && !this.#suspect.has(id)) this.#cleanClosed.add(id)
    } finally {
      const account = this.#accounts.get(id)
      this.#accounts.delete(id)
      account?.close()
    }
  }

  /** Closes an idle partition to make room (the pool chose it); flushes a large memtable first. */
  async #evict(id: string, partition: Partition): Promise<void> {
    if (partition.memtableBytes >= evictFlushBytesMin) await partition.flush().catch(() => undefined)
    const reason = `partition ${id} was closed to keep the store within ${this.#limits.openPartitionsMax} open partitions: call store.partition(${JSON.stringify(id)}) again`
    await this.#closePartition(id, partition, reason)
    this.#closedInfo.set(id, { ...partition.info(), memtableBytes: 0, open: false })
  }
}
