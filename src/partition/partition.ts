/**
 * A partition: an independent log and the ordered key-value state materialized from it.
 *
 * Invariants:
 * - every change goes through the log first: a batch is applied to state (synchronously, in LSN
 *   order) only once the log says it is durable, so state never shows an unacknowledged write;
 * - a batch is validated and reduced before it is logged: a bad key or a throwing reducer
 *   rejects the write with nothing logged and nothing applied;
 * - on open, state is recovered from its tables and the log is replayed from the state's
 *   durable LSN + 1, so applied LSN == the log's last LSN once open returns;
 * - the log is trimmed only below the state's durable LSN + 1 (DESIGN.md invariant 5; later
 *   layers lower this floor further with the archived LSN and replication retention);
 * - the log is fsynced up to an LSN before state makes it durable (a flush freezes the
 *   memtable, syncs the log up to the frozen LSN, then writes only the frozen memtables), so
 *   state is never ahead of the log after power loss, under 'none' durability too, and for
 *   records replayed at open that the last process wrote but never synced.
 */
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { CairnError, CorruptionError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import type { LogRecord } from '../log/frame.js'
import type { Durability, Log } from '../log/log.js'
import { type BlockCache, LsmTree, memtableBytesMaxDefault, type ReadSnapshot, type ScanRange, type StateOp, type StateStats, validateStateOps } from '../state/index.js'
import { batchTooLarge, type Bytes, ownBytes, ownPayload, type Reducer, reduce, toBytes } from './reducer.js'
import { decodeEntry, type PartitionEntry } from './partition-entry.js'
import type { MemtableAccount } from './memory-budget.js'
import { decodeStateBatch, encodeStateBatch, stateBatchBytes, stateRecordType } from './state-record.js'

/** The log record type of an opaque user payload with no state commands. */
export const payloadRecordType = 1

export type Payload = Bytes

export type StateOpInput =
  | { type: 'put'; key: Bytes; value: Bytes }
  | { type: 'delete'; key: Bytes }
  | { type: 'deleteRange'; start: Bytes; end: Bytes }

export interface WriteBatch {
  ops?: readonly StateOpInput[]
  payloads?: readonly Payload[]
}

export interface BytesScanRange {
  gte?: Bytes
  gt?: Bytes
  lte?: Bytes
  lt?: Bytes
  reverse?: boolean
  limit?: number
}

export interface PartitionInfo {
  id: string
  logId: string
  firstLsn: number
  lastLsn: number
  appliedLsn: number
  durableLsn: number
  logBytes: number
  segmentCount: number
  tableCount: number
  tableBytes: number
  memtableBytes: number
}

/** The tunables of a partition's log and state (all optional; defaults in each layer). */
export interface PartitionSettings {
  /** 'sync' (default): a write resolves once fsynced. 'none': once written to the OS. */
  durability?: Durability
  segmentBytesMax?: number
  recordBytesMax?: number
  batchBytesMax?: number
  /** Bound of the memtable (default 64 MiB). */
  memtableBytesMax?: number
  /** Bound of the block cache (default 64 MiB). */
  blockCacheBytesMax?: number
}

export interface PartitionOptions extends PartitionSettings {
  id: string
  dir: string
  fs: FileSystem
  /** The partition's log, opened by the store; the partition owns it from here (closes it). */
  log: Log
  reducer?: Reducer
  /** The store's memory budget: told of memtable growth, asked before each write (backpressure). */
  memory?: MemtableAccount
  /** The block cache all of the store's partitions share (then `blockCacheBytesMax` is not used). */
  blockCache?: BlockCache
}

export class Partition {
  readonly id: string
  readonly dir: string
  readonly log: Log
  readonly #tree: LsmTree
  readonly #reducer: Reducer | undefined
  readonly #memtableBytesMax: number
  readonly #memory: MemtableAccount | undefined
  #maintenance: Promise<void> | undefined
  #maintenanceError: unknown
  #closed = false
  #closedMessage = ''
  /** Writes and appends in flight, and log readers (read, readBatches, tail) open: see `idle`. */
  #users = 0

  private constructor(options: PartitionOptions, log: Log, tree: LsmTree) {
    this.id = options.id
    this.dir = options.dir
    this.log = log
    this.#tree = tree
    this.#reducer = options.reducer
    this.#memtableBytesMax = options.memtableBytesMax ?? memtableBytesMaxDefault
    this.#memory = options.memory
    this.#memory?.update(tree.memtableBytes)
  }

  /** @internal Partitions are opened by their store. */
  static async open(options: PartitionOptions): Promise<Partition> {
    const { fs, dir, log } = options
    let tree: LsmTree | undefined
    try {
      tree = await LsmTree.open({
        fs,
        dir: posix.join(dir, 'state'),
        ...(options.memtableBytesMax !== undefined && { memtableBytesMax: options.memtableBytesMax }),
        ...(options.blockCacheBytesMax !== undefined && { blockCacheBytesMax: options.blockCacheBytesMax }),
        ...(options.blockCache !== undefined && { blockCache: options.blockCache }),
      })
      await replay(options.id, log, tree)
      return new Partition(options, log, tree)
    } catch (e) {
      await tree?.close().catch(() => undefined)
      await log.close().catch(() => undefined)
      throw e
    }
  }

  get firstLsn(): number {
    return this.log.firstLsn
  }

  get lastLsn(): number {
    return this.log.lastLsn
  }

  /** Highest LSN whose effects are visible in state. */
  get appliedLsn(): number {
    return this.#tree.appliedLsn
  }

  /** Highest LSN whose effects are in table files; the log is replayed from here on open. */
  get durableLsn(): number {
    return this.#tree.durableLsn
  }

  /** The log may be trimmed below this LSN and no further. */
  get trimFloor(): number {
    return this.#tree.durableLsn + 1
  }

  /**
   * Writes one atomic batch of state commands and/or payloads (one LSN); resolves with the LSN
   * once durable, after its effects are visible to `get` and `scan`.
   *
   * @example
   * await p.write({ ops: [{ type: 'put', key: 'a', value: '1' }, { type: 'deleteRange', start: 'b', end: 'c' }] })
   * await p.write({ payloads: ['{"type":"deposit","id":7,"amount":5}'] })   // reduced by the store's reducer
   */
  async write(batch: WriteBatch): Promise<number> {
    this.#checkOpen()
    // Copies first, before any await: the caller may reuse its buffers once this call returns,
    // and the log frames a payload-only record later, when its group is written.
    const ops = (batch.ops ?? []).map(toStateOp)
    const payloads = (batch.payloads ?? []).map(ownPayload)
    // Counted until it resolves: the store closes only an idle partition (see `idle`).
    this.#users++
    try {
      await this.#admit()
      // From here to `append` nothing awaits: the LSN the reducer sees is the one the log assigns.
      const lsn = this.log.nextLsn
      const recordBytesMax = this.log.recordBytesMax
      let bytes = stateBatchBytes({ ops, payloads })
      if (this.#reducer !== undefined) for (const p of payloads) bytes += reduce(this.#reducer, p, lsn, ops, recordBytesMax - bytes)
      validateStateOps(ops)
      const payloadOnly = ops.length === 0 && payloads.length === 1
      // A payload alone is the record (the log bounds it); a state record over the bound is this batch's fault.
      if (!payloadOnly && bytes > recordBytesMax) throw batchTooLarge(bytes, recordBytesMax)
      const record: LogRecord = payloadOnly
        ? { type: payloadRecordType, payload: payloads[0]! }
        : { type: stateRecordType, payload: encodeStateBatch({ ops, payloads }, bytes) }
      // A bound method rather than an arrow: cheaper to create per write (and not wrapped by tsx's keepNames).
      return await this.log.append([record], { onDurable: this.#applyOps.bind(this, ops) })
    } finally {
      this.#users--
    }
  }

  /**
   * Appends payloads as one atomic batch, one LSN each; resolves with the last LSN once
   * durable. With a reducer, each payload's state commands commit with it.
   *
   * @example
   * const lsn = await partition.append(['{"type":"created"}', new Uint8Array([1, 2])])
   */
  async append(payloads: readonly Payload[]): Promise<number> {
    this.#checkOpen()
    // Copies before any await (see write).
    const owned = payloads.map(ownPayload)
    this.#users++
    try {
      await this.#admit()
      const first = this.log.nextLsn
      const records: LogRecord[] = []
      const opsByRecord: StateOp[][] = []
      const recordBytesMax = this.log.recordBytesMax
      for (const [i, payload] of owned.entries()) {
        const ops: StateOp[] = []
        let bytes = stateBatchBytes({ ops, payloads: [payload] })
        if (this.#reducer !== undefined) bytes += reduce(this.#reducer, payload, first + i, ops, recordBytesMax - bytes)
        validateStateOps(ops)
        opsByRecord.push(ops)
        records.push(
          ops.length === 0 ? { type: payloadRecordType, payload } : { type: stateRecordType, payload: encodeStateBatch({ ops, payloads: [payload] }, bytes) },
        )
      }
      return await this.log.append(records, {
        onDurable: (last) => {
          for (let i = 0; i < opsByRecord.length; i++) this.#apply(last - opsByRecord.length + 1 + i, opsByRecord[i]!)
        },
      })
    } finally {
      this.#users--
    }
  }

  /** Puts `value` as JSON text. */
  putJson(key: Bytes, value: unknown): Promise<number> {
    return this.put(key, JSON.stringify(value))
  }

  put(key: Bytes, value: Bytes): Promise<number> {
    return this.write({ ops: [{ type: 'put', key, value }] })
  }

  delete(key: Bytes): Promise<number> {
    return this.write({ ops: [{ type: 'delete', key }] })
  }

  deleteRange(start: Bytes, end: Bytes): Promise<number> {
    return this.write({ ops: [{ type: 'deleteRange', start, end }] })
  }

  /** The value of `key`, or undefined. */
  get(key: Bytes): Promise<Uint8Array | undefined> {
    // Not async: a cached read answers with the tree's already-resolved promise, no extra hop.
    if (this.#closed) return Promise.reject(this.#closedError())
    try {
      return this.#tree.get(toBytes(key))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  async getString(key: Bytes): Promise<string | undefined> {
    const value = await this.get(key)
    return value === undefined ? undefined : new TextDecoder().decode(value)
  }

  async getJson<T = unknown>(key: Bytes): Promise<T | undefined> {
    const text = await this.getString(key)
    return text === undefined ? undefined : (JSON.parse(text) as T)
  }

  /**
   * Entries in key order (or reverse) within the bounds, as of the call. A scan pins the table
   * files it reads (open, and not deleted by compaction) until it is finished or returned:
   * iterate to the end, or leave `for await` (a `break` returns it), or call `return()`. One
   * that is merely dropped is released only once garbage collected. Fails with CLOSED once the
   * store closed.
   *
   * @example
   * for await (const [key, value] of p.scan({ gte: 'user/', lt: 'user0', limit: 100 })) { ... }
   */
  scan(range: BytesScanRange = {}): AsyncIterableIterator<[Uint8Array, Uint8Array]> {
    this.#checkOpen()
    return this.#tree.scan(toScanRange(range))
  }

  /**
   * A consistent view pinned at the current applied LSN; `close()` it when done (it pins its
   * files until then; one dropped unclosed is released only once garbage collected).
   *
   * @example
   * const snap = p.readSnapshot()
   * try { for await (const [k, v] of snap.scan()) out.push([k, v]) } finally { await snap.close() }
   */
  readSnapshot(): ReadSnapshot {
    this.#checkOpen()
    return this.#tree.readSnapshot()
  }

  /** Moves the memtable into table files (the state's durable LSN advances). */
  async flush(): Promise<void> {
    this.#checkOpen()
    await this.#runMaintenance(false)
  }

  /** Flushes, then compacts until nothing is due. */
  async compact(): Promise<void> {
    this.#checkOpen()
    await this.#runMaintenance(true)
  }

  /**
   * Reads log entries from `fromLsn` (default: the first), at most `limit` of them.
   *
   * @example
   * for await (const { lsn, payload } of partition.read({ fromLsn: 1, limit: 10 })) { ... }
   */
  async *read(options: { fromLsn?: number; limit?: number } = {}): AsyncGenerator<PartitionEntry> {
    this.#checkOpen()
    let left = options.limit ?? Number.POSITIVE_INFINITY
    if (left <= 0) return
    this.#users++
    try {
      for await (const batch of this.log.readBatches(options.fromLsn ?? this.log.firstLsn)) {
        for (const entry of batch) {
          yield decodeEntry(entry)
          if (--left <= 0) return
        }
      }
    } finally {
      this.#users--
    }
  }

  /**
   * Like `read`, in arrays of entries: the fastest way through a long log.
   *
   * @example
   * for await (const batch of partition.readBatches({ fromLsn: 1 })) for (const e of batch) { ... }
   */
  async *readBatches(options: { fromLsn?: number; toLsn?: number } = {}): AsyncGenerator<PartitionEntry[]> {
    this.#checkOpen()
    this.#users++
    try {
      for await (const batch of this.log.readBatches(options.fromLsn ?? this.log.firstLsn, options.toLsn)) {
        for (const entry of batch) decodeEntry(entry)
        yield batch as PartitionEntry[]
      }
    } finally {
      this.#users--
    }
  }

  /** Reads from `fromLsn`, then waits for new entries until the store closes or `signal` aborts. */
  async *tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<PartitionEntry> {
    this.#checkOpen()
    this.#users++
    try {
      for await (const entry of this.log.tail(fromLsn, options)) yield decodeEntry(entry)
    } finally {
      this.#users--
    }
  }

  /**
   * Trims whole log segments below `min(belowLsn, trimFloor)`; returns the new first LSN.
   * Flush first to raise the floor.
   */
  async trim(belowLsn: number): Promise<number> {
    this.#checkOpen()
    return await this.log.trim(Math.min(belowLsn, this.trimFloor))
  }

  info(): PartitionInfo {
    const stats = this.#tree.stats()
    return {
      id: this.id,
      logId: this.log.logId,
      firstLsn: this.log.firstLsn,
      lastLsn: this.log.lastLsn,
      appliedLsn: this.#tree.appliedLsn,
      durableLsn: this.#tree.durableLsn,
      logBytes: this.log.bytes,
      segmentCount: this.log.segmentCount,
      tableCount: stats.tableCount,
      tableBytes: stats.tableBytes,
      memtableBytes: stats.memtableBytes,
    }
  }

  /**
   * @internal True when nothing uses the partition, so the store may close it to bound its open
   * partitions: no write or append in flight, no read, tail, scan or read snapshot open, no
   * flush or compaction running.
   */
  get idle(): boolean {
    return this.#users === 0 && this.#maintenance === undefined && this.#tree.readerCount === 0 && !this.#closed
  }

  /** @internal Bytes of the memtables not yet in table files (what the store's memory budget counts). */
  get memtableBytes(): number {
    return this.#tree.memtableBytes
  }

  /** Stats of the state engine (levels, amplification, cache) for benchmarks and metrics. */
  stateStats(): StateStats {
    return this.#tree.stats()
  }

  #checkOpen(): void {
    if (this.#closed) throw this.#closedError()
  }

  #closedError(): CairnError {
    return new CairnError('CLOSED', this.#closedMessage || `partition ${this.id} is closed: open the store again`, { context: { partition: this.id } })
  }

  /** Backpressure: waits for log queue room, and for a flush when the memtable is far over. */
  async #admit(): Promise<void> {
    await this.log.room()
    // The store's budget: undefined (no wait) while the store's memtables are under it.
    const budget = this.#memory?.admit()
    if (budget !== undefined) await budget
    // Cheap test first: the full stats are only worth computing once the memtable is full.
    if (!this.#tree.needsFlush()) return
    const stats = this.#tree.stats()
    const unflushed = stats.memtableBytes + stats.frozenMemtableBytes
    // Writes wait for the flush when memory runs far ahead of it, so memory stays bounded.
    if (unflushed > 2 * this.#memtableBytesMax && this.#maintenance !== undefined) {
      await this.#maintenance.catch(() => undefined)
    }
    if (this.#maintenanceError !== undefined && unflushed > 4 * this.#memtableBytesMax) {
      throw new CairnError('IO_ERROR', `partition ${this.id} cannot flush its state (writes are paused): check the disk, then retry`, {
        context: { partition: this.id },
        cause: this.#maintenanceError,
      })
    }
  }

  #applyOps(ops: StateOp[], lsn: number): void {
    this.#apply(lsn, ops)
  }

  #apply(lsn: number, ops: StateOp[]): void {
    // Validated before logging (write and append), so the tree need not check again; the ops'
    // bytes are the partition's own copies (toStateOp, reduce), so the tree need not copy them.
    this.#tree.apply(lsn, ops, true, true)
    this.#memory?.update(this.#tree.memtableBytes)
    if (this.#tree.needsFlush() && this.#maintenance === undefined) void this.#runMaintenance(false).catch(() => undefined)
  }

  /** One flush (+ compaction) at a time; errors are kept and retried on the next trigger. */
  #runMaintenance(compact: boolean): Promise<void> {
    const previous = this.#maintenance ?? Promise.resolve()
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        // Freeze first, then make the log durable up to what was frozen, then flush only that:
        // a write acknowledged (under 'none') while the log syncs is in neither, so state is
        // never durable past the log.
        const frozenLsn = this.#tree.freeze()
        if (this.log.syncedLsn < frozenLsn) await this.log.sync()
        await this.#tree.flushFrozen(frozenLsn)
        this.#memory?.update(this.#tree.memtableBytes)
        // The tree compacts in the background after a flush; an explicit compact waits for it.
        if (compact) await this.#tree.compact()
        this.#maintenanceError = undefined
      })
      .catch((e) => {
        this.#maintenanceError = e
        throw e
      })
      .finally(() => {
        if (this.#maintenance === run) this.#maintenance = undefined
      })
    this.#maintenance = run
    return run
  }

  /** @internal `reason`: what a call on this partition is told from now on (CLOSED). */
  async close(reason?: string): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (reason !== undefined) this.#closedMessage = reason
    try {
      await this.log.close()
    } finally {
      // Even when the log fails to close: the store releases its lock after this, and a flush or
      // compaction still running would then write into a store someone else may own.
      await this.#maintenance?.catch(() => undefined)
      await this.#tree.close()
    }
  }
}

/**
 * The op with bytes of its own: state applies it only once the log says it is durable, and the
 * caller may reuse its buffers as soon as `write` returns (state must hold what the log holds).
 */
function toStateOp(op: StateOpInput): StateOp {
  switch (op.type) {
    case 'put':
      return { type: 'put', key: ownBytes(op.key), value: ownBytes(op.value) }
    case 'delete':
      return { type: 'delete', key: ownBytes(op.key) }
    case 'deleteRange':
      return { type: 'deleteRange', start: ownBytes(op.start), end: ownBytes(op.end) }
    default:
      throw new CairnError('INVALID_ARGUMENT', `unknown op type ${JSON.stringify((op as { type?: unknown }).type)}: use put, delete or deleteRange`)
  }
}

function toScanRange(range: BytesScanRange): ScanRange {
  const out: ScanRange = {}
  if (range.gte !== undefined) out.gte = toBytes(range.gte)
  if (range.gt !== undefined) out.gt = toBytes(range.gt)
  if (range.lte !== undefined) out.lte = toBytes(range.lte)
  if (range.lt !== undefined) out.lt = toBytes(range.lt)
  if (range.reverse !== undefined) out.reverse = range.reverse
  if (range.limit !== undefined) out.limit = range.limit
  return out
}

/** Replays the log into state from the state's durable LSN + 1. */
async function replay(id: string, log: Log, tree: LsmTree): Promise<void> {
  const from = tree.durableLsn + 1
  if (tree.durableLsn > log.lastLsn) {
    throw new CorruptionError(
      'CORRUPT_LOG',
      `partition ${id}: state is durable up to LSN ${tree.durableLsn} but the log ends at ${log.lastLsn}: the log lost acknowledged records; restore from a backup`,
      { context: { partition: id, durableLsn: tree.durableLsn, lastLsn: log.lastLsn } },
    )
  }
  if (from < log.firstLsn && log.lastLsn >= from) {
    throw new CorruptionError(
      'CORRUPT_LOG',
      `partition ${id}: state needs the log from LSN ${from} but it starts at ${log.firstLsn}: restore from a backup`,
      { context: { partition: id, from, firstLsn: log.firstLsn } },
    )
  }
  if (from > log.lastLsn) return
  // What is replayed may be what a crashed process wrote and never synced (the page cache kept
  // it): a flush below may make it durable in state only because the log's open made it durable
  // first (`FileLog.open` fsyncs the last segment; `syncedLsn` covers every LSN it holds).
  assert(log.syncedLsn >= log.lastLsn, 'an opened log is durable through its last LSN')
  for await (const batch of log.readBatches(from)) {
    for (const entry of batch) {
      tree.apply(entry.lsn, entry.type === stateRecordType ? decodeStateBatch(entry.payload, entry.lsn).ops : [])
      if (tree.needsFlush()) await tree.flush()
    }
  }
}
