/**
 * A partition: an independent log and the ordered key-value state materialized from it. This
 * file is the facade; the write path's encoding is in partition-write.ts, replay at open in
 * partition-replay.ts, flush and compaction scheduling in partition-maintenance.ts, reading in
 * partition-read.ts.
 *
 * Invariants:
 * - every change goes through the log first: a batch is applied to state (synchronously, in LSN
 *   order, each LSN the previous + 1) only once the log says it is durable, so state never shows
 *   an unacknowledged write;
 * - a batch is validated and reduced before it is logged: a bad key or a throwing reducer
 *   rejects the write with nothing logged and nothing applied;
 * - on open, state is recovered from its tables and the log is replayed from the state's
 *   durable LSN + 1, so applied LSN == the log's last LSN once open returns;
 * - the log is trimmed only below the state's durable LSN + 1 (later layers lower this floor
 *   further with the archived LSN and replication retention);
 * - state is never durable past the log (the freeze-sync-flush rule, partition-maintenance.ts).
 */
import { posix } from 'node:path'
import { CairnError } from '../io/errors.js'
import type { LogRecord } from '../log/frame.js'
import type { Log } from '../log/log.js'
import { LsmTree, memtableBytesMaxDefault, type ReadSnapshot, type StateOp, type StateStats } from '../state/index.js'
import type { PartitionEntry } from './partition-entry.js'
import { PartitionMaintenance } from './partition-maintenance.js'
import { readEntries, readEntryBatches, tailEntries, toScanRange } from './partition-read.js'
import { assertNextLsn, replay } from './partition-replay.js'
import type { BytesScanRange, Payload, PartitionInfo, PartitionOptions, WriteBatch } from './partition-types.js'
import { encodeAppend, encodeWrite, toStateOp } from './partition-write.js'
import { type Bytes, ownPayload, type Reducer, toBytes } from './reducer.js'

export type { BytesScanRange, PartitionInfo, PartitionOptions, PartitionSettings, Payload, StateOpInput, WriteBatch } from './partition-types.js'
export { payloadRecordType } from './partition-write.js'

export class Partition {
  readonly id: string
  readonly dir: string
  /** Private: a write that bypassed the partition would skip the apply step, and a trim the trim floor. */
  readonly #log: Log
  readonly #tree: LsmTree
  readonly #reducer: Reducer | undefined
  readonly #maintenance: PartitionMaintenance
  #closed = false

  private constructor(options: PartitionOptions, log: Log, tree: LsmTree) {
    this.id = options.id
    this.dir = options.dir
    this.#log = log
    this.#tree = tree
    this.#reducer = options.reducer
    this.#maintenance = new PartitionMaintenance(options.id, log, tree, options.memtableBytesMax ?? memtableBytesMaxDefault)
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
      })
      await replay(options.id, log, tree)
      return new Partition(options, log, tree)
    } catch (e) {
      await tree?.close().catch(() => undefined)
      await log.close().catch(() => undefined)
      throw e
    }
  }

  /** The id of the log the partition writes to now. */
  get logId(): string {
    return this.#log.logId
  }

  get firstLsn(): number {
    return this.#log.firstLsn
  }

  get lastLsn(): number {
    return this.#log.lastLsn
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
    await this.#maintenance.admit()
    // From here to `append` nothing awaits: the LSN the reducer sees is the one the log assigns.
    const record: LogRecord = encodeWrite(ops, payloads, this.#reducer, this.#log.nextLsn, this.#log.recordBytesMax)
    // A bound method rather than an arrow: cheaper to create per write (and not wrapped by tsx's keepNames).
    return await this.#log.append([record], { onDurable: this.#applyOps.bind(this, ops) })
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
    await this.#maintenance.admit()
    // From here to `append` nothing awaits (see write).
    const { records, opsByRecord } = encodeAppend(owned, this.#reducer, this.#log.nextLsn, this.#log.recordBytesMax)
    return await this.#log.append(records, {
      onDurable: (last) => {
        for (let i = 0; i < opsByRecord.length; i++) this.#apply(last - opsByRecord.length + 1 + i, opsByRecord[i]!)
      },
    })
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
    if (this.#closed) return Promise.reject(new CairnError('CLOSED', `partition ${this.id} is closed: open the store again`))
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
    await this.#maintenance.run(false)
  }

  /** Flushes, then compacts until nothing is due. */
  async compact(): Promise<void> {
    this.#checkOpen()
    await this.#maintenance.run(true)
  }

  /**
   * Reads log entries from `fromLsn` (default: the first), at most `limit` of them.
   *
   * @example
   * for await (const { lsn, payload } of partition.read({ fromLsn: 1, limit: 10 })) { ... }
   */
  read(options: { fromLsn?: number; limit?: number } = {}): AsyncGenerator<PartitionEntry> {
    return readEntries(this.#checkOpenBound, this.#log, options.fromLsn, options.limit)
  }

  /**
   * Like `read`, in arrays of entries: the fastest way through a long log.
   *
   * @example
   * for await (const batch of partition.readBatches({ fromLsn: 1 })) for (const e of batch) { ... }
   */
  readBatches(options: { fromLsn?: number; toLsn?: number } = {}): AsyncGenerator<PartitionEntry[]> {
    return readEntryBatches(this.#checkOpenBound, this.#log, options.fromLsn, options.toLsn)
  }

  /** Reads from `fromLsn`, then waits for new entries until the store closes or `signal` aborts. */
  tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<PartitionEntry> {
    return tailEntries(this.#checkOpenBound, this.#log, fromLsn, options)
  }

  /**
   * Trims whole log segments below `min(belowLsn, trimFloor)`; returns the new first LSN.
   * Flush first to raise the floor.
   */
  async trim(belowLsn: number): Promise<number> {
    this.#checkOpen()
    return await this.#log.trim(Math.min(belowLsn, this.trimFloor))
  }

  info(): PartitionInfo {
    const stats = this.#tree.stats()
    return {
      id: this.id,
      logId: this.#log.logId,
      firstLsn: this.#log.firstLsn,
      lastLsn: this.#log.lastLsn,
      appliedLsn: this.#tree.appliedLsn,
      durableLsn: this.#tree.durableLsn,
      logBytes: this.#log.bytes,
      segmentCount: this.#log.segmentCount,
      tableCount: stats.tableCount,
      tableBytes: stats.tableBytes,
      memtableBytes: stats.memtableBytes,
    }
  }

  /** Stats of the state engine (levels, amplification, cache) for benchmarks and metrics. */
  stateStats(): StateStats {
    return this.#tree.stats()
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `partition ${this.id} is closed: open the store again`)
  }

  /** `#checkOpen` for the readers, which run it on their first step. */
  readonly #checkOpenBound = (): void => this.#checkOpen()

  #applyOps(ops: StateOp[], lsn: number): void {
    this.#apply(lsn, ops)
  }

  #apply(lsn: number, ops: StateOp[]): void {
    assertNextLsn(this.id, this.#tree.appliedLsn, lsn)
    // Validated before logging (write and append), so the tree need not check again; the ops'
    // bytes are the partition's own copies (toStateOp, reduce), so the tree need not copy them.
    this.#tree.apply(lsn, ops, true, true)
    this.#maintenance.afterApply()
  }

  /** @internal */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.#log.close()
    } finally {
      // Even when the log fails to close: the store releases its lock after this, and a flush or
      // compaction still running would then write into a store someone else may own.
      await this.#maintenance.settle()
      await this.#tree.close()
    }
  }
}

