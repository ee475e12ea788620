/**
 * A partition: an independent log and the ordered key-value state materialized from it. This
 * file is the facade; the write path's encoding is in partition-write.ts, appending replicated
 * records in append-replicated.ts, the apply step in partition-apply.ts, recovery at open in
 * partition-replay.ts, flush and compaction scheduling in partition-maintenance.ts, reading in
 * partition-read.ts, the hooks' parts in trim-holds.ts, write-gate.ts, retained-state.ts and
 * partition-hooks.ts, the counts of users and faults in partition-usage.ts, and the open, close,
 * idleness and info in partition-parts.ts.
 *
 * Invariants:
 * - every change goes through the log first: a batch is applied to state (synchronously, in LSN
 *   order, each LSN the previous + 1) only once the log says it is durable, so state never shows
 *   an unacknowledged write;
 * - a batch is validated and reduced before it is logged: a bad key or a throwing reducer
 *   rejects the write with nothing logged and nothing applied;
 * - on open, state is recovered from its tables and the log is replayed from the state's
 *   durable LSN + 1, so applied LSN == the log's last LSN once open returns;
 * - the log is trimmed only below the trim floor: min(state durable LSN + 1, every trim hold)
 *   (trim-holds.ts);
 * - state is never durable past the log (the freeze-sync-flush rule, partition-maintenance.ts);
 * - every write (local or replicated) passes the write gate in the step that appends it, so a
 *   pause sees a stable applied LSN once the writes in flight settled (write-gate.ts);
 * - `idle` is true only when closing the partition would fail nobody (partition-parts.ts).
 */
import { posix } from 'node:path'
import type { LogRecord } from '../log/frame.js'
import type { Log, LogCut } from '../log/log.js'
import { type LsmTree, memtableBytesMaxDefault, type ReadSnapshot, type StateStats } from '../state/index.js'
import { appendReplicated } from './append-replicated.js'
import { StateApplier } from './partition-apply.js'
import type { PartitionEntry } from './partition-entry.js'
import { pauseAtApplied, trimBelow } from './partition-hooks.js'
import { PartitionMaintenance } from './partition-maintenance.js'
import { closePartitionParts, describePartition, openPartitionParts, type PartitionParts, partitionIdle, trimFloorOf } from './partition-parts.js'
import { readEntries, readEntryBatches, tailEntries, toScanRange } from './partition-read.js'
import type { BytesScanRange, PartitionInfo, PartitionOptions, Payload, WriteBatch } from './partition-types.js'
import { PartitionUsage } from './partition-usage.js'
import { encodeAppend, encodeWrite, type ReplicatedRecord, toStateOp } from './partition-write.js'
import { type Bytes, ownPayload, type Reducer, toBytes } from './reducer.js'
import { describeRetained, type RetainedState } from './retained-state.js'
import { TrimHolds } from './trim-holds.js'
import type { WriteGate } from './write-gate.js'

export type { BytesScanRange, PartitionInfo, PartitionOptions, PartitionSettings, Payload, StateOpInput, WriteBatch } from './partition-types.js'
export { payloadRecordType, type ReplicatedRecord } from './partition-write.js'
export type { RetainedFile, RetainedState } from './retained-state.js'
export type { TrimHoldInfo } from './trim-holds.js'

/**
 * @example
 * const p = await store.ensurePartition('orders')
 * await p.put('order/1', '{"total":5}')
 * for await (const [key, value] of p.scan({ gte: 'order/' })) { ... }
 */
export class Partition {
  readonly id: string
  readonly dir: string
  /** Private: a write that bypassed the partition would skip the apply step, and a trim the trim floor. */
  readonly #log: Log
  readonly #tree: LsmTree
  readonly #reducer: Reducer | undefined
  readonly #maintenance: PartitionMaintenance
  readonly #applier: StateApplier
  readonly #trimHolds = new TrimHolds()
  readonly #gate: WriteGate
  /** Users, closed and faulted (partition-usage.ts): plain fields, touched per write. */
  readonly #use: PartitionUsage
  /** The parts as one object, for the cold paths that live in partition-parts.ts and partition-hooks.ts. */
  readonly #parts: PartitionParts
  #closedCleanly = false

  private constructor(options: PartitionOptions, log: Log, tree: LsmTree, gate: WriteGate) {
    this.id = options.id
    this.dir = options.dir
    this.#log = log
    this.#tree = tree
    this.#reducer = options.reducer
    this.#maintenance = new PartitionMaintenance(options.id, log, tree, options.memtableBytesMax ?? memtableBytesMaxDefault, options.memory)
    this.#applier = new StateApplier(options.id, tree, this.#maintenance)
    this.#gate = gate
    this.#use = new PartitionUsage(options.id)
    this.#parts = { id: options.id, log, tree, gate, maintenance: this.#maintenance, trimHolds: this.#trimHolds, usage: this.#use, applier: this.#applier }
  }

  /** @internal Partitions are opened by their store. */
  static async open(options: PartitionOptions): Promise<Partition> {
    const { tree, gate } = await openPartitionParts(options)
    return new Partition(options, options.log, tree, gate)
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

  /** The log may be trimmed below this LSN and no further: min(state durable + 1, every trim hold). */
  get trimFloor(): number {
    return trimFloorOf(this.#parts)
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
    // Counted until it settles: the store closes only an idle partition (see `idle`).
    this.#use.users++
    try {
      await this.#maintenance.admit()
      while (this.#gate.paused) await this.#gate.wait()
      // From here to `append` nothing awaits: the LSN the reducer sees is the one the log assigns,
      // and no pause begins between the gate and the log.
      const record: LogRecord = encodeWrite(ops, payloads, this.#reducer, this.#log.nextLsn, this.#log.recordBytesMax)
      this.#gate.enter()
      try {
        // A bound method rather than an arrow: cheaper to create per write (and not wrapped by tsx's keepNames).
        return await this.#log.append([record], { onDurable: this.#applier.applyOps.bind(this.#applier, ops) })
      } catch (e) {
        this.#use.faulted = true
        throw e
      } finally {
        this.#gate.leave()
      }
    } finally {
      this.#use.users--
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
    this.#use.users++
    try {
      await this.#maintenance.admit()
      while (this.#gate.paused) await this.#gate.wait()
      // From here to `append` nothing awaits (see write).
      const { records, opsByRecord } = encodeAppend(owned, this.#reducer, this.#log.nextLsn, this.#log.recordBytesMax)
      this.#gate.enter()
      try {
        return await this.#log.append(records, { onDurable: this.#applier.applyRecords.bind(this.#applier, opsByRecord) })
      } catch (e) {
        this.#use.faulted = true
        throw e
      } finally {
        this.#gate.leave()
      }
    } finally {
      this.#use.users--
    }
  }

  /**
   * Appends records another store logged, with the LSNs they have there (a follower, a restore
   * from an archived log): only if the first is this partition's next LSN and they are dense
   * (LSN_MISMATCH otherwise, and nothing is written). They are logged as they are and applied
   * through the same step as local writes; their state commands are the ones the source's
   * reducer produced (stored in the records), never reduced again, so two stores fed the same
   * records hold the same log and the same state. Resolves with the last LSN once durable.
   *
   * @example
   * for await (const batch of source.readBatches({ fromLsn: replica.lastLsn + 1 })) await replica.appendReplicated(batch)
   */
  appendReplicated(records: readonly ReplicatedRecord[], options: { sourceLogId?: string } = {}): Promise<number> {
    // Not async: the body (append-replicated.ts) is, so every failure is a rejection as before.
    return appendReplicated(this.#parts, records, options.sourceLogId)
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
    if (this.#use.closed) return Promise.reject(this.#use.closedError())
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
    return readEntries(this.#use, this.#log, options.fromLsn, options.limit)
  }

  /**
   * Like `read`, in arrays of entries: the fastest way through a long log.
   *
   * @example
   * for await (const batch of partition.readBatches({ fromLsn: 1 })) for (const e of batch) { ... }
   */
  readBatches(options: { fromLsn?: number; toLsn?: number } = {}): AsyncGenerator<PartitionEntry[]> {
    return readEntryBatches(this.#use, this.#log, options.fromLsn, options.toLsn)
  }

  /** Reads from `fromLsn`, then waits for new entries until the store closes or `signal` aborts. */
  tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<PartitionEntry> {
    return tailEntries(this.#use, this.#log, fromLsn, options)
  }

  /**
   * Trims whole log segments below `min(belowLsn, trimFloor)`; returns the new first LSN.
   * Flush first to raise the floor; trim holds lower it.
   */
  async trim(belowLsn: number): Promise<number> {
    this.#checkOpen()
    return trimBelow(this.#parts, belowLsn)
  }

  /**
   * Holds the log from `fromLsn` on: no trim removes a record at or above it until the returned
   * release is called (releasing again does nothing). `info().trimHolds` lists the holds with
   * `who`. LSN_TRIMMED when the log no longer has `fromLsn` (or a running trim may remove it).
   *
   * @example
   * const release = p.holdTrim(p.durableLsn + 1, 'backup 2026-12-01')
   * try { await copyLogFrom(p.cut()) } finally { release() }
   */
  holdTrim(fromLsn: number, who: string): () => void {
    this.#checkOpen()
    return this.#trimHolds.hold(fromLsn, who, this.#log.firstLsn)
  }

  /**
   * The acknowledged end of the log, captured synchronously (writers do not pause): its files
   * in LSN order with the acknowledged byte length of each, and the last LSN. A copy of each
   * file's first `bytes` bytes is a valid log holding exactly `firstLsn..lastLsn`, provided the
   * files are not trimmed meanwhile (hold the log with `holdTrim(cut.firstLsn, ...)` first).
   *
   * @example
   * const release = p.holdTrim(p.firstLsn, 'backup')
   * try { const cut = p.cut(); for (const f of cut.files) await copyPrefix(f.path, f.bytes) } finally { release() }
   */
  cut(): LogCut {
    this.#checkOpen()
    return this.#log.cut()
  }

  /**
   * The table files and manifest of the state at its durable LSN, pinned (not deleted by
   * compaction) from this call until `release()`. With the log from `lsn + 1` (see `holdTrim`
   * and `cut`) it is a checkpoint of the partition. Flush first for a recent `lsn`.
   *
   * @example
   * await p.flush()
   * const state = p.retainState()
   * try { for (const f of state.files) await copy(f.path, f.bytes) } finally { state.release() }
   */
  retainState(): RetainedState {
    this.#checkOpen()
    return describeRetained(posix.join(this.dir, 'state'), this.#tree.retainVersion())
  }

  /**
   * Stops new writes (they wait, bounded by `pausedWritesMax` and `pauseWaitMsMax`, then fail
   * with WRITES_PAUSED) and resolves once the writes in flight settled: from then until
   * `resume()`, `appliedLsn === lastLsn` and neither moves. Pauses nest; each resume counts once.
   *
   * @example
   * const resume = await p.pauseWrites()
   * try { await takeSnapshot(p, p.appliedLsn) } finally { resume() }
   */
  async pauseWrites(): Promise<() => void> {
    this.#checkOpen()
    return pauseAtApplied(this.#parts)
  }

  info(): PartitionInfo {
    return describePartition(this.#parts)
  }

  /**
   * @internal True when nothing uses the partition, so the store may close it to bound its open
   * partitions (see the header): the hooks count too, so a trim hold, a pause, a retained state
   * or a tail keeps it open.
   */
  get idle(): boolean {
    return partitionIdle(this.#parts)
  }

  /**
   * @internal Counts the caller as a user until the returned release is called (once; again does
   * nothing): the store keeps the partition open meanwhile (a roll of its log). CLOSED when closed.
   */
  keepOpen(): () => void {
    return this.#use.keepOpen()
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
    if (this.#use.closed) throw this.#use.closedError()
  }

  /**
   * @internal True once `close()` succeeded and nothing of this partition failed while it was
   * open (no append, trim, flush or compaction): every file it wrote is durable, so the store may
   * reopen it without the recovery fsyncs (`trustedClean`) until anything else touches it.
   */
  get closedCleanly(): boolean {
    return this.#closedCleanly
  }

  /** @internal `reason`: what a call on this partition is told from now on (CLOSED). */
  async close(reason?: string): Promise<void> {
    if (this.#use.closed) return
    this.#use.close(reason)
    // Only set when both the log's and the state's closes succeeded (partition-parts.ts).
    this.#closedCleanly = await closePartitionParts(this.#parts)
  }
}
