/**
 * A store: one data directory, owned by one process, holding partitions and the catalog.
 *
 * Invariants:
 * - a store is open in at most one place at a time (lock file; STORE_LOCKED otherwise);
 * - a partition exists iff the catalog lists it; its directory is made durable before the
 *   catalog entry; directories the catalog does not list (a crash mid-create) are moved to
 *   `lost+found/` at open, and a missing catalog over partition directories is CORRUPT_CATALOG;
 * - at open, everything the store relies on is fsynced before it is trusted (store-recovery.ts);
 * - partition ids are validated before any path is built from them;
 * - memory and descriptors do not grow with the number of partitions: opening the store and
 *   `info()` open no partition; at most `openPartitionsMax` are open (partition-pool.ts: idle
 *   ones are closed, least recently used first); all memtables share one budget
 *   (memory-budget.ts) and all tables one block cache.
 *
 * Layout: <dir>/LOCK, <dir>/catalog.json, <dir>/partitions/<id>/{log,state}/, <dir>/lost+found/
 */
import { posix } from 'node:path'
import { mkdirDurable } from '../io/atomic-write.js'
import { CairnError, IoError, isCairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import { FileLog } from '../log/file-log.js'
import { BlockCache } from '../state/index.js'
import type { Catalog, CatalogPartition } from './catalog.js'
import { MemoryBudget } from './memory-budget.js'
import { partitionNotFound, storeNotFound } from './not-found.js'
import { Partition, type PartitionOptions, type PartitionSettings } from './partition.js'
import { assertPartitionId } from './partition-id.js'
import { PartitionPool } from './partition-pool.js'
import type { Reducer } from './reducer.js'
import { evictFlushBytesMin, resolveStoreLimits, type StoreLimits } from './store-limits.js'
import { StoreLock } from './store-lock.js'
import { lostAndFound, recoverStore } from './store-recovery.js'
import { type StorePartitionInfo, summarizeDir } from './store-partition-info.js'

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

/** Partitions `info()` looks at on disk at once. */
const infoLooksMax = 8

export interface StoreInfo {
  dir: string
  storeId: string
  createdAtMs: number
  /**
   * Every partition, without opening any: live figures for open ones, the figures at its close
   * for one closed since the store opened, and for the others what the catalog and one walk of
   * its directory tell (see `StorePartitionInfo`).
   */
  partitions: StorePartitionInfo[]
  /** Directories moved aside into `<dir>/lost+found/` (orphans found at open): for a human to check. */
  lostAndFound: string[]
  /** Partitions open now, and the bound. */
  openPartitions: number
  openPartitionsMax: number
  /** Unflushed memtable bytes of all open partitions, and their bound (half the memory budget). */
  memtableBytes: number
  memtableBytesMax: number
  /** Bytes in the block cache all partitions share, and its capacity (the budget's other half). */
  blockCacheBytes: number
  blockCacheBytesMax: number
  memoryBytesMax: number
}

/**
 * A `Partition` from `partition()`, `createPartition()` or `ensurePartition()` is the live
 * partition while it stays open; to stay within `openPartitionsMax` the store closes idle
 * partitions (no write in flight, no read, tail, scan or snapshot open), least recently used
 * first. A call on a partition closed that way fails with `CLOSED`, saying to call
 * `store.partition(id)` again, which reopens it. Ask the store for a partition when you need it
 * (a lookup while it is open) rather than holding one across idle periods.
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
  readonly #catalog: Catalog
  readonly #lock: StoreLock
  readonly #budget: MemoryBudget
  /** One cache for the tables of every partition (LRU by bytes): the budget's other half. */
  readonly #blockCache: BlockCache
  readonly #pool: PartitionPool<Partition>
  readonly #accounts = new Map<string, ReturnType<MemoryBudget['open']>>()
  /** Creations in flight, by id. */
  readonly #creating = new Map<string, Promise<Partition>>()
  /** Figures of partitions as they were closed, and of partitions looked at on disk, for `info()`. */
  readonly #closedInfo = new Map<string, StorePartitionInfo>()
  /** Catalog entries of creations waiting for the next catalog write (one write for all of them). */
  #registrations: Array<{ id: string; entry: CatalogPartition; done: (e?: unknown) => void }> = []
  #registering = false
  /** Partition directories fsynced since the store opened (each before its first open). */
  readonly #dirsSynced = new Set<string>()
  #closed = false

  private constructor(dir: string, fs: FileSystem, options: StoreOptions, limits: StoreLimits, catalog: Catalog, lock: StoreLock) {
    this.dir = dir
    this.fs = fs
    this.#options = options
    this.#limits = limits
    this.#catalog = catalog
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
    return this.#catalog.partition(id) !== undefined
  }

  /** Opens an existing partition (or hands out the open one); `PARTITION_NOT_FOUND` if there is none. */
  partition(id: string): Promise<Partition> {
    this.#checkOpen()
    assertPartitionId(id)
    const creating = this.#creating.get(id)
    if (creating !== undefined) return creating
    if (this.#pool.peek(id) === undefined) {
      const entry = this.#catalog.partition(id)
      if (entry === undefined) return Promise.reject(partitionNotFound(id))
      return this.#pool.acquire(id, () => this.#openPartition(id, entry.logId))
    }
    return this.#pool.acquire(id, () => Promise.reject(new Error('unreachable: the partition is open')))
  }

  /** Creates a partition; `PARTITION_EXISTS` if it exists. Concurrent creations share catalog writes. */
  createPartition(id: string): Promise<Partition> {
    this.#checkOpen()
    assertPartitionId(id)
    if (this.#creating.has(id) || this.#catalog.partition(id) !== undefined) {
      return Promise.reject(new CairnError('PARTITION_EXISTS', `partition ${id} already exists`, { context: { partition: id } }))
    }
    const run = this.#pool.acquire(id, async () => {
      const partition = await this.#openPartition(id, undefined)
      try {
        await this.#register(id, { logId: partition.log.logId, createdAtMs: Date.now(), meta: {} })
      } catch (e) {
        await this.#closePartition(id, partition).catch(() => undefined)
        throw e
      }
      return partition
    })
    this.#creating.set(id, run)
    const settled = () => {
      if (this.#creating.get(id) === run) this.#creating.delete(id)
    }
    run.then(settled, settled)
    return run
  }

  /** Opens the partition, creating it if missing. */
  async ensurePartition(id: string): Promise<Partition> {
    assertPartitionId(id)
    const creating = this.#creating.get(id)
    if (creating !== undefined) await creating.catch(() => undefined)
    if (this.#pool.peek(id) !== undefined || this.#catalog.partition(id) !== undefined) return await this.partition(id)
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
   * store opened is looked at on disk once, one at a time, then remembered).
   */
  async info(): Promise<StoreInfo> {
    this.#checkOpen()
    const data = this.#catalog.data
    const ids = Object.keys(data.partitions).sort()
    // Partitions neither open nor known yet are looked at on disk, a few at a time (a walk holds no descriptor between calls).
    const unknown = ids.filter((id) => this.#pool.peek(id) === undefined && !this.#closedInfo.has(id))
    const looked = new Map<string, StorePartitionInfo>()
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(infoLooksMax, unknown.length) }, async () => {
        while (next < unknown.length) {
          const id = unknown[next++]!
          looked.set(id, { id, logId: data.partitions[id]!.logId, open: false, ...(await summarizeDir(this.fs, this.#partitionDir(id))) })
        }
      }),
    )
    const partitions: StorePartitionInfo[] = []
    for (const id of ids) {
      const open = this.#pool.peek(id)
      if (open !== undefined) {
        partitions.push({ ...open.info(), open: true })
        continue
      }
      // Not looked at only when it was open when the looks began and is closing now.
      const known =
        this.#closedInfo.get(id) ?? looked.get(id) ?? { id, logId: data.partitions[id]!.logId, open: false, ...(await summarizeDir(this.fs, this.#partitionDir(id))) }
      // Remembered: a closed partition does not change while the store holds its lock.
      if (!this.#closedInfo.has(id)) this.#closedInfo.set(id, known)
      partitions.push(known)
    }
    return {
      dir: this.dir,
      storeId: data.storeId,
      createdAtMs: data.createdAtMs,
      partitions,
      lostAndFound: await lostAndFound(this.fs, this.dir),
      openPartitions: this.#pool.size,
      openPartitionsMax: this.#limits.openPartitionsMax,
      memtableBytes: this.#budget.bytes,
      memtableBytesMax: this.#limits.memtablesBytesMax,
      blockCacheBytes: this.#blockCache.bytes,
      blockCacheBytesMax: this.#limits.blockCacheBytesMax,
      memoryBytesMax: this.#limits.memoryBytesMax,
    }
  }

  /** @internal What the memory budget counts now (for tests and metrics). */
  get memtableBytes(): number {
    return this.#budget.bytes
  }

  /** @internal Partitions open or opening now. */
  get openPartitionCount(): number {
    return this.#pool.size
  }

  /** Finishes in-flight appends, closes every partition and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const errors = await this.#pool.close((id, p) => this.#closePartition(id, p))
    await this.#lock.release()
    if (errors.length > 0) throw errors[0]
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `store ${this.dir} is closed: open it again`)
  }

  #partitionDir(id: string): string {
    return posix.join(this.dir, 'partitions', id)
  }

  async #openPartition(id: string, logId: string | undefined): Promise<Partition> {
    const { fs: _fs, create: _create, reducer, reducers, memoryBytesMax: _m, openPartitionsMax: _o, ...settings } = this.#options
    const dir = this.#partitionDir(id)
    const account = this.#budget.open()
    try {
      // Made durable before anything in it is trusted, once per process (store-recovery.ts leaves it to here).
      if (logId !== undefined && !this.#dirsSynced.has(id)) {
        await this.fs.syncDir(dir).catch((e: unknown) => {
          throw new IoError('sync directory', dir, e)
        })
        this.#dirsSynced.add(id)
      }
      const log = await FileLog.open({
        fs: this.fs,
        dir: posix.join(dir, 'log'),
        ...(logId !== undefined && { logId }),
        ...(settings.durability !== undefined && { durability: settings.durability }),
        ...(settings.segmentBytesMax !== undefined && { segmentBytesMax: settings.segmentBytesMax }),
        ...(settings.recordBytesMax !== undefined && { recordBytesMax: settings.recordBytesMax }),
        ...(settings.batchBytesMax !== undefined && { batchBytesMax: settings.batchBytesMax }),
      })
      const options: PartitionOptions = {
        ...settings,
        memtableBytesMax: this.#limits.partitionMemtableBytesMax,
        blockCache: this.#blockCache,
        id,
        dir,
        fs: this.fs,
        log,
        reducer: reducers?.[id] ?? reducer,
        memory: account,
      }
      const partition = await Partition.open(options)
      account.bind(() => partition.flush())
      this.#accounts.set(id, account)
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

  /** Adds a catalog entry; entries added while a catalog write runs go together in the next one. */
  #register(id: string, entry: CatalogPartition): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#registrations.push({ id, entry, done: (e) => (e === undefined ? resolve() : reject(e)) })
      void this.#writeRegistrations()
    })
  }

  async #writeRegistrations(): Promise<void> {
    if (this.#registering) return
    this.#registering = true
    try {
      while (this.#registrations.length > 0) {
        const batch = this.#registrations
        this.#registrations = []
        try {
          await this.#catalog.update((c) => {
            for (const r of batch) c.partitions[r.id] = r.entry
          })
          for (const r of batch) r.done()
        } catch (e) {
          for (const r of batch) r.done(e)
        }
      }
    } finally {
      this.#registering = false
    }
  }
}
