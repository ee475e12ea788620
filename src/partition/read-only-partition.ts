/**
 * A read-only view of one partition of a store that another process owns (a running server):
 * its state recovered from the table files, the log replayed into memory on top, nothing written.
 *
 * Invariants:
 * - nothing is written and no lock is taken: the state tree is opened `readOnly` (no recovery,
 *   no flush, no compaction, no deletion) and the partition's chain of logs read-only, both
 *   where the catalog says (the state a restore made, the logs a roll added);
 * - a view is one state of the partition: the tables of one manifest (durable LSN D) plus the
 *   log records D+1..L, applied in LSN order, where L is the last record the writer's log proves
 *   fsynced when the view opened. It shows no write that was not made durable, and every write
 *   acknowledged before `open` started that the log shows: the log shows an acknowledged write
 *   at once when the writer went idle after it, else as soon as the writer's next frame is
 *   written (a reader lags by at most the groups in flight, see file-log.ts);
 * - a view never changes after it opened: it keeps its table files open (a compaction that
 *   deletes them meanwhile does not take them from it) and holds the replayed records in memory;
 * - when the owner moved on while the view was being opened (a table it needs compacted away, the
 *   log trimmed past what the state needs because the owner flushed and trimmed, a log dropped or
 *   replaced by a restore), the open starts again from a fresh catalog and manifest, at most
 *   `readOnlyPartitionAttemptsMax` times, then fails with STORE_BUSY.
 */
import { CairnError, isCairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import type { Log } from '../log/log.js'
import { type BlockCache, LsmTree, type StateOptions } from '../state/index.js'
import type { Catalog } from './catalog.js'
import { partitionNotFound } from './not-found.js'
import type { BytesScanRange, PartitionInfo } from './partition.js'
import { toScanRange } from './partition-read.js'
import { openReadOnlyLog, partitionStateDir } from './read-only-log.js'
import { type Bytes, toBytes } from './reducer.js'
import { decodeStateBatch, stateRecordType } from './state-record.js'
import { trimGap } from './trim-gap.js'

/** Attempts of a read-only open before it gives up with STORE_BUSY. */
export const readOnlyPartitionAttemptsMax = 8
/** Pause before the n-th retry: n times this (the owner is mid-flush or mid-compaction). */
export const readOnlyRetryBackoffMs = 5

/**
 * What `info()` of a read-only view reports: the LSNs, log and tables of `Partition.info()` as
 * of the view's moment (not the owner's trim floor, holds or pauses, which live in its memory
 * only). As a view reads them: `logId` is the chain's active log when the view opened, `lastLsn`
 * the last LSN it knows of (the log's, or the state's when that is further), `appliedLsn` the
 * view's LSN (every write up to it, none after), `durableLsn` the LSN of the tables it read (it
 * replayed the log after it), `memtableBytes` the log it replayed into memory.
 */
export interface ReadOnlyPartitionInfo extends Omit<PartitionInfo, 'trimFloor' | 'trimHolds' | 'writesPaused'> {
  readOnly: true
  /** When the view was taken (ms since the epoch): every write acknowledged before is in it. */
  asOfMs: number
}

/** The log's part of a view's info, taken when the view opened (the log is closed after replay). */
type LogView = Pick<ReadOnlyPartitionInfo, 'logId' | 'firstLsn' | 'lastLsn' | 'logBytes' | 'segmentCount'>

export interface ReadOnlyPartitionOptions {
  fs: FileSystem
  /** The store's directory (absolute). */
  root: string
  id: string
  /** Loads the catalog as of now (a view starts from a fresh one each attempt). */
  loadCatalog: () => Promise<Catalog>
  /** The block cache the view's state tree reads through (its reader's, shared by its views). */
  blockCache?: BlockCache
  /** Called once when the view closes (its reader forgets it). */
  onClose?: (view: ReadOnlyPartition) => void
}

/**
 * A partition as of one moment, read beside the process that owns the store. Opened by
 * `StoreReader.openPartition`; close it when done (it holds its table files open).
 *
 * @example
 * const reader = await StoreReader.open('./cairn-data')
 * const orders = await reader.openPartition('orders')
 * try {
 *   console.log(await orders.get('order/7'), orders.info().appliedLsn)
 *   for await (const [key, value] of orders.scan({ gte: 'order/', lt: 'order0' })) console.log(key, value)
 * } finally {
 *   await orders.close()
 *   await reader.close()
 * }
 */
export class ReadOnlyPartition {
  readonly id: string
  /** When the view was taken (ms since the epoch). */
  readonly asOfMs: number
  readonly #tree: LsmTree
  readonly #log: LogView
  readonly #onClose: ((view: ReadOnlyPartition) => void) | undefined
  #closed = false

  private constructor(options: ReadOnlyPartitionOptions, asOfMs: number, tree: LsmTree, log: LogView) {
    this.id = options.id
    this.asOfMs = asOfMs
    this.#tree = tree
    this.#log = log
    this.#onClose = options.onClose
  }

  /** @internal Opened by `StoreReader.openPartition`. */
  static async open(options: ReadOnlyPartitionOptions): Promise<ReadOnlyPartition> {
    let cause: unknown
    for (let attempt = 1; attempt <= readOnlyPartitionAttemptsMax; attempt++) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, (attempt - 1) * readOnlyRetryBackoffMs))
      try {
        return await ReadOnlyPartition.#openOnce(options)
      } catch (e) {
        if (!ownerMovedOn(e)) throw e
        cause = e
      }
    }
    // The gap stayed through every attempt: a real one, not a trim racing this open.
    if (isCairnError(cause, 'TRIM_GAP')) throw cause
    throw storeBusy(options.id, cause)
  }

  /** One attempt: the state as of one manifest, then the log from its durable LSN + 1. */
  static async #openOnce(options: ReadOnlyPartitionOptions): Promise<ReadOnlyPartition> {
    const { fs, root, id } = options
    const asOfMs = Date.now()
    const entry = (await options.loadCatalog()).partition(id)
    if (entry === undefined) throw partitionNotFound(id)
    // The state engine's read-only open: no recovery writes; it re-reads the manifest itself when
    // a table it names was compacted away before it could open it.
    const stateOptions: StateOptions = {
      fs,
      dir: partitionStateDir(root, id, entry),
      readOnly: true,
      autoCompact: false,
      ...(options.blockCache !== undefined && { blockCache: options.blockCache }),
    }
    // State first, then the log: the log read after the manifest reaches at least as far as the
    // writer had made durable when it wrote that manifest (it syncs its log before a flush).
    let tree: LsmTree
    try {
      tree = await LsmTree.open(stateOptions)
    } catch (e) {
      // The state engine gave up retrying (the owner kept compacting): the same STORE_BUSY as ours.
      if (isCairnError(e, 'READ_ONLY')) throw storeBusy(id, e)
      throw e
    }
    try {
      const { chain, active, links } = await openReadOnlyLog(fs, root, id, entry)
      try {
        // The log's view can lag the manifest by the groups the writer had in flight: look again.
        if (chain.lastLsn < tree.durableLsn) await active.refresh()
        // Within the active log (the common case) replay reads it directly (see StoreReader.read).
        await replay(id, tree, tree.durableLsn + 1 >= links[links.length - 1]!.firstLsn ? active : chain)
        const info = {
          logId: chain.logId,
          firstLsn: chain.firstLsn,
          lastLsn: Math.max(chain.lastLsn, tree.durableLsn),
          logBytes: chain.bytes,
          segmentCount: chain.segmentCount,
        }
        return new ReadOnlyPartition(options, asOfMs, tree, info)
      } finally {
        await chain.close()
      }
    } catch (e) {
      await tree.close().catch(() => undefined)
      throw e
    }
  }

  /** Highest LSN whose effects the view shows. */
  get appliedLsn(): number {
    return this.#tree.appliedLsn
  }

  /** The value of `key` in the view, or undefined. */
  get(key: Bytes): Promise<Uint8Array | undefined> {
    if (this.#closed) return Promise.reject(closed(this.id))
    try {
      return this.#tree.get(toBytes(key))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /**
   * Entries of the view in key order (or reverse) within the bounds; as `Partition.scan`.
   *
   * @example
   * for await (const [key, value] of view.scan({ gte: 'user/', lt: 'user0', limit: 100 })) { ... }
   */
  scan(range: BytesScanRange = {}): AsyncIterableIterator<[Uint8Array, Uint8Array]> {
    if (this.#closed) throw closed(this.id)
    return this.#tree.scan(toScanRange(range))
  }

  info(): ReadOnlyPartitionInfo {
    const stats = this.#tree.stats()
    return {
      id: this.id,
      ...this.#log,
      appliedLsn: this.#tree.appliedLsn,
      durableLsn: this.#tree.durableLsn,
      tableCount: stats.tableCount,
      tableBytes: stats.tableBytes,
      memtableBytes: stats.memtableBytes,
      readOnly: true,
      asOfMs: this.asOfMs,
    }
  }

  /** Releases the view's files and memory. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#onClose?.(this)
    await this.#tree.close()
  }
}

/**
 * Applies the log's records after the state's durable LSN, in memory only. A log that starts
 * above that LSN was trimmed after the manifest was read (the owner flushed and trimmed), or
 * has a trim gap: TRIM_GAP, and the open starts again (a gap still there after every attempt is
 * what the open answers).
 */
async function replay(id: string, tree: LsmTree, log: Log): Promise<void> {
  const from = tree.durableLsn + 1
  if (from > log.lastLsn) return
  if (from < log.firstLsn) throw trimGap(id, from, log.firstLsn, log.lastLsn)
  for await (const batch of log.readBatches(from)) {
    for (const entry of batch) tree.apply(entry.lsn, entry.type === stateRecordType ? decodeStateBatch(entry.payload, entry.lsn).ops : [])
  }
}

/** The owner changed the files this attempt was reading: a fresh attempt will see the new ones. */
function ownerMovedOn(e: unknown): boolean {
  if (isCairnError(e, 'LSN_TRIMMED') || isCairnError(e, 'TRIM_GAP')) return true
  // A segment or table listed a moment ago and deleted (trimmed, compacted away) before it was opened.
  return isCairnError(e, 'IO_ERROR') && e.context.errno === 'ENOENT'
}

function storeBusy(id: string, cause: unknown): CairnError {
  return new CairnError(
    'STORE_BUSY',
    `partition ${id} kept changing under a read-only open (its owner flushed, compacted or trimmed meanwhile, ${readOnlyPartitionAttemptsMax} times in a row): retry`,
    { context: { partition: id, attempts: readOnlyPartitionAttemptsMax }, cause },
  )
}

function closed(id: string): CairnError {
  return new CairnError('CLOSED', `the read-only view of partition ${id} is closed: open a new one`, { context: { partition: id } })
}
