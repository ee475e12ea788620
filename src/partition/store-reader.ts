/**
 * Reading a store's logs without owning it: no lock, no recovery writes, so a CLI can read and
 * follow a partition's log while a server (or any other process) writes to it.
 *
 * Invariants:
 * - nothing is written: the catalog and segments are only read (the catalog is replaced
 *   atomically by its owner, so a read sees one whole version);
 * - a reader never returns bytes a checksum did not vouch for; a write in progress at the end
 *   of the last segment is simply not there yet.
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
import { partitionDirs } from './store-recovery.js'

export interface StoreReaderOptions {
  fs?: FileSystem
  /** How often `tail` looks for new records (default 100 ms). */
  pollIntervalMs?: number
}

/**
 * @example
 * const reader = await StoreReader.open('./cairn-data')
 * for await (const e of reader.tail('orders', 1, { signal })) console.log(e.lsn, e.payload)
 * await reader.close()
 */
export class StoreReader {
  readonly dir: string
  readonly #fs: FileSystem
  readonly #options: StoreReaderOptions
  readonly #logs = new Map<string, Promise<FileLog>>()

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

  /** Entries from `fromLsn` (default: the first retained), at most `limit`. */
  async *read(id: string, options: { fromLsn?: number; limit?: number } = {}): AsyncGenerator<PartitionEntry> {
    const log = await this.log(id)
    await log.refresh()
    let left = options.limit ?? Number.POSITIVE_INFINITY
    if (left <= 0) return
    for await (const batch of log.readBatches(options.fromLsn ?? log.firstLsn)) {
      for (const entry of batch) {
        yield decodeEntry(entry)
        if (--left <= 0) return
      }
    }
  }

  /** Entries from `fromLsn`, then new ones as the writer adds them, until `signal` aborts. */
  async *tail(id: string, fromLsn: number | undefined, options: { signal?: AbortSignal } = {}): AsyncGenerator<PartitionEntry> {
    const log = await this.log(id)
    await log.refresh()
    for await (const entry of log.tail(fromLsn ?? log.firstLsn, options)) yield decodeEntry(entry)
  }

  async close(): Promise<void> {
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
