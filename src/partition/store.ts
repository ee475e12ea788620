/**
 * A store: one data directory, owned by one process, holding partitions and the catalog.
 *
 * Invariants:
 * - a store is open in at most one place at a time (lock file; STORE_LOCKED otherwise);
 * - a partition exists iff the catalog lists it; its directory is made durable before the
 *   catalog entry; directories the catalog does not list (a crash mid-create) are moved to
 *   `lost+found/` at open, and a missing catalog over partition directories is CORRUPT_CATALOG;
 * - at open, everything the store relies on is fsynced before it is trusted (store-recovery.ts);
 * - partition ids are validated before any path is built from them.
 *
 * Layout: <dir>/LOCK, <dir>/catalog.json, <dir>/partitions/<id>/{log,state}/, <dir>/lost+found/
 */
import { posix } from 'node:path'
import { mkdirDurable } from '../io/atomic-write.js'
import { CairnError, isCairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import { FileLog } from '../log/file-log.js'
import type { Catalog } from './catalog.js'
import { partitionNotFound, storeNotFound } from './not-found.js'
import { Partition, type PartitionInfo, type PartitionOptions, type PartitionSettings } from './partition.js'
import { assertPartitionId } from './partition-id.js'
import type { Reducer } from './reducer.js'
import { StoreLock } from './store-lock.js'
import { lostAndFound, recoverStore } from './store-recovery.js'

export interface StoreOptions extends PartitionSettings {
  /** The file system (default: the real one). */
  fs?: FileSystem
  /** Create the store if the directory holds none (default true). */
  create?: boolean
  /** The reducer of every partition that `reducers` does not name. */
  reducer?: Reducer
  /** Reducers by partition id. */
  reducers?: Record<string, Reducer>
}

export interface StoreInfo {
  dir: string
  storeId: string
  createdAtMs: number
  partitions: PartitionInfo[]
  /** Directories moved aside into `<dir>/lost+found/` (orphans found at open): for a human to check. */
  lostAndFound: string[]
}

/**
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
  readonly #catalog: Catalog
  readonly #lock: StoreLock
  readonly #open = new Map<string, Promise<Partition>>()
  #creating: Promise<unknown> = Promise.resolve()
  #closed = false

  private constructor(dir: string, fs: FileSystem, options: StoreOptions, catalog: Catalog, lock: StoreLock) {
    this.dir = dir
    this.fs = fs
    this.#options = options
    this.#catalog = catalog
    this.#lock = lock
  }

  static async open(dir: string, options: StoreOptions = {}): Promise<Store> {
    const fs = options.fs ?? new NodeFileSystem()
    const root = posix.resolve(dir)
    if ((await fs.stat(root)) === undefined) {
      if (options.create === false) throw storeNotFound(root)
      await mkdirDurable(fs, root)
    }
    const lock = await StoreLock.acquire(fs, root)
    try {
      const catalog = await recoverStore(fs, root, options.create !== false)
      return new Store(root, fs, options, catalog, lock)
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

  /** Opens an existing partition; `PARTITION_NOT_FOUND` if there is none. */
  partition(id: string): Promise<Partition> {
    this.#checkOpen()
    assertPartitionId(id)
    const opened = this.#open.get(id)
    if (opened !== undefined) return opened
    const entry = this.#catalog.partition(id)
    if (entry === undefined) {
      return Promise.reject(partitionNotFound(id))
    }
    const opening = this.#openPartition(id, entry.logId)
    this.#open.set(id, opening)
    opening.catch(() => this.#open.delete(id))
    return opening
  }

  /** Creates a partition; `PARTITION_EXISTS` if it exists. */
  createPartition(id: string): Promise<Partition> {
    this.#checkOpen()
    assertPartitionId(id)
    const run = this.#creating.then(async () => {
      if (this.#catalog.partition(id) !== undefined) {
        throw new CairnError('PARTITION_EXISTS', `partition ${id} already exists`, { context: { partition: id } })
      }
      const partition = await this.#openPartition(id, undefined)
      try {
        await this.#catalog.update((c) => {
          c.partitions[id] = { logId: partition.logId, createdAtMs: Date.now(), meta: {} }
        })
      } catch (e) {
        await partition.close().catch(() => undefined)
        throw e
      }
      this.#open.set(id, Promise.resolve(partition))
      return partition
    })
    this.#creating = run.catch(() => undefined)
    return run
  }

  /** Opens the partition, creating it if missing. */
  async ensurePartition(id: string): Promise<Partition> {
    assertPartitionId(id)
    await this.#creating
    if (this.#catalog.partition(id) !== undefined) return await this.partition(id)
    try {
      return await this.createPartition(id)
    } catch (e) {
      if (isCairnError(e, 'PARTITION_EXISTS')) return await this.partition(id)
      throw e
    }
  }

  async info(): Promise<StoreInfo> {
    this.#checkOpen()
    const data = this.#catalog.data
    const partitions: PartitionInfo[] = []
    for (const id of this.partitions()) partitions.push((await this.partition(id)).info())
    return { dir: this.dir, storeId: data.storeId, createdAtMs: data.createdAtMs, partitions, lostAndFound: await lostAndFound(this.fs, this.dir) }
  }

  /** Finishes in-flight appends, closes every partition and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#creating
    const errors: unknown[] = []
    for (const opening of this.#open.values()) {
      try {
        await (await opening).close()
      } catch (e) {
        errors.push(e)
      }
    }
    this.#open.clear()
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
    const { fs: _fs, create: _create, reducer, reducers, ...settings } = this.#options
    const dir = this.#partitionDir(id)
    const log = await FileLog.open({
      fs: this.fs,
      dir: posix.join(dir, 'log'),
      ...(logId !== undefined && { logId }),
      ...(settings.durability !== undefined && { durability: settings.durability }),
      ...(settings.segmentBytesMax !== undefined && { segmentBytesMax: settings.segmentBytesMax }),
      ...(settings.recordBytesMax !== undefined && { recordBytesMax: settings.recordBytesMax }),
      ...(settings.batchBytesMax !== undefined && { batchBytesMax: settings.batchBytesMax }),
    })
    const options: PartitionOptions = { ...settings, id, dir, fs: this.fs, log, reducer: reducers?.[id] ?? reducer }
    return await Partition.open(options)
  }
}

