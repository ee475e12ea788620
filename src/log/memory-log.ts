/**
 * An in-memory `Log` for tests of semantics (what `cairn/testing` exports); no store uses it.
 *
 * Invariants (the `Log` contract, with simple durability):
 * - LSNs are dense from `startLsn`; an append takes its LSNs when called and is acknowledged in
 *   a later turn, in LSN order, calling `onDurable` before it resolves;
 * - everything acknowledged is durable (`syncedLsn === lastLsn`), and `reopen()` keeps exactly it;
 * - `trim(l)` removes whole units of `trimUnitRecords` LSNs (units counted from `startLsn`), only
 *   those entirely below `l`, and never a record not yet appended;
 * - a failed append (see `failNextAppend`) fails the appends queued behind it too, and the next
 *   append reuses their LSNs, as the file log does after a failed write.
 */
import { CairnError, IoError } from '../io/errors.js'
import { bodyBytesOf, frameHeaderBytes, type LogEntry, type LogRecord } from './frame.js'
import type { AppendOptions, Durability, Log, LogCut } from './log.js'
import { checkRecordBytes, recordBytesMaxDefault } from './record-limits.js'
import { lsnMismatch, lsnTrimmed } from './log-errors.js'

/** Records per trim unit by default (the file log's unit is a segment). */
export const trimUnitRecordsDefault = 64
const memoryBatchBytesMaxDefault = 32 * 1024 * 1024
const memoryBatchRecordsMax = 100_000
const readBatchEntries = 4096

export interface MemoryLogOptions {
  logId?: string
  /** The first LSN (default 1). */
  startLsn?: number
  recordBytesMax?: number
  batchBytesMax?: number
  /** Trim removes whole units of this many LSNs, counted from `startLsn` (default 64). */
  trimUnitRecords?: number
}

interface Pending {
  records: LogEntry[]
  options: AppendOptions
  fail: unknown
  resolve: (lsn: number) => void
  reject: (e: unknown) => void
}

/**
 * @example
 * const log = new MemoryLog({ startLsn: 1 })
 * await log.append([{ type: 1, payload: new Uint8Array([1]) }])   // 1
 * for await (const e of log.read(1)) console.log(e.lsn)
 */
export class MemoryLog implements Log {
  readonly logId: string
  readonly durability: Durability = 'sync'
  readonly recordBytesMax: number
  readonly batchBytesMax: number
  readonly startLsn: number
  readonly trimUnitRecords: number
  #entries: LogEntry[] = []
  #firstLsn: number
  #nextLsn: number
  #pending: Pending[] = []
  #flushing: Promise<void> = Promise.resolve()
  #flushRunning = false
  #waiters: Array<() => void> = []
  #failNext: unknown
  #closed = false
  #sealed = false
  /** Sealed and drained: tails end at `lastLsn`. */
  #ended = false

  constructor(options: MemoryLogOptions = {}) {
    this.startLsn = options.startLsn ?? 1
    this.recordBytesMax = options.recordBytesMax ?? recordBytesMaxDefault
    this.batchBytesMax = options.batchBytesMax ?? memoryBatchBytesMaxDefault
    this.trimUnitRecords = options.trimUnitRecords ?? trimUnitRecordsDefault
    for (const [name, value, min] of [
      ['startLsn', this.startLsn, 1],
      ['recordBytesMax', this.recordBytesMax, 1],
      ['batchBytesMax', this.batchBytesMax, this.recordBytesMax],
      ['trimUnitRecords', this.trimUnitRecords, 1],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min) {
        throw new CairnError('INVALID_CONFIG', `memory log: ${name} must be an integer of at least ${min} (got ${value})`, { context: { option: name, value } })
      }
    }
    this.logId = options.logId ?? `memory-${Math.random().toString(16).slice(2)}`
    this.#firstLsn = this.startLsn
    this.#nextLsn = this.startLsn
  }

  get firstLsn(): number {
    return this.#firstLsn
  }
  get lastLsn(): number {
    return this.#firstLsn + this.#entries.length - 1
  }
  get nextLsn(): number {
    return this.#nextLsn
  }
  get syncedLsn(): number {
    return this.lastLsn
  }
  get bytes(): number {
    let sum = 0
    for (const e of this.#entries) sum += e.payload.length
    return sum
  }
  /** Trim units holding at least one record. */
  get segmentCount(): number {
    if (this.#entries.length === 0) return 0
    const unit = (lsn: number): number => Math.floor((lsn - this.startLsn) / this.trimUnitRecords)
    return unit(this.lastLsn) - unit(this.#firstLsn) + 1
  }
  get sealed(): boolean {
    return this.#sealed
  }

  /** Makes the next append reject (with `error`, default an IoError), and every append queued behind it. */
  failNextAppend(error?: unknown): void {
    this.#failNext = error ?? new IoError('write', `memory:${this.logId}`, new Error('injected failure'))
  }

  append(records: readonly LogRecord[], options: AppendOptions = {}): Promise<number> {
    this.#checkWritable()
    if (records.length === 0) throw new CairnError('INVALID_ARGUMENT', 'append needs at least one record')
    if (records.length > memoryBatchRecordsMax) {
      throw new CairnError('BATCH_TOO_LARGE', `a batch holds at most ${memoryBatchRecordsMax} records: split it`)
    }
    for (const r of records) checkRecordBytes(r.payload.length, this.recordBytesMax)
    const bytes = frameHeaderBytes + bodyBytesOf(records)
    if (bytes > this.batchBytesMax) {
      throw new CairnError('BATCH_TOO_LARGE', `a batch is at most ${this.batchBytesMax} bytes (this one is ${bytes}): split it`)
    }
    if (options.expectedLsn !== undefined && options.expectedLsn !== this.#nextLsn) {
      throw lsnMismatch('memory log', options.expectedLsn, this.#nextLsn)
    }
    const first = this.#nextLsn
    this.#nextLsn += records.length
    const entries = records.map((r, i) => ({ lsn: first + i, type: r.type, payload: r.payload.slice() }))
    const fail = this.#failNext
    this.#failNext = undefined
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ records: entries, options, fail, resolve, reject })
      if (!this.#flushRunning) this.#flushing = this.#flush()
    })
  }

  /** Acknowledges what is pending, in order, in a later turn (as a real log would after its sync). */
  async #flush(): Promise<void> {
    this.#flushRunning = true
    while (this.#pending.length > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      const batch = this.#pending.splice(0)
      for (const [i, p] of batch.entries()) {
        if (p.fail !== undefined) {
          for (const q of batch.slice(i)) q.reject(p.fail)
          for (const q of this.#pending.splice(0)) q.reject(p.fail)
          this.#nextLsn = this.lastLsn + 1
          break
        }
        this.#entries.push(...p.records)
        const last = p.records[p.records.length - 1]!.lsn
        try {
          p.options.onDurable?.(last)
        } catch (e) {
          p.reject(e)
          continue
        }
        p.resolve(last)
      }
      this.#wake()
    }
    // No await between the last look at the queue and here: an append made after it starts a new flush.
    this.#flushRunning = false
  }

  room(): Promise<void> {
    return Promise.resolve()
  }

  async sync(): Promise<void> {
    if (!this.#sealed) this.#checkWritable()
    await this.#flushing
  }

  async *readBatches(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry[]> {
    if (!Number.isSafeInteger(fromLsn) || fromLsn < 1) throw new CairnError('INVALID_ARGUMENT', `fromLsn must be a positive integer (got ${fromLsn})`)
    const last = Math.min(toLsn ?? this.lastLsn, this.lastLsn)
    let next = fromLsn
    while (next <= last) {
      if (next < this.#firstLsn) {
        throw lsnTrimmed('memory log', next, this.#firstLsn)
      }
      const from = next - this.#firstLsn
      const batch = this.#entries.slice(from, from + Math.min(readBatchEntries, last - next + 1))
      next += batch.length
      yield batch
      await Promise.resolve()
    }
  }

  async *read(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry> {
    for await (const batch of this.readBatches(fromLsn, toLsn)) yield* batch
  }

  async *tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
    let next = fromLsn
    const { signal } = options
    while (!this.#closed && signal?.aborted !== true) {
      if (next <= this.lastLsn) {
        for await (const batch of this.readBatches(next)) {
          yield* batch
          next = batch[batch.length - 1]!.lsn + 1
        }
        continue
      }
      if (this.#ended) return
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done)
          resolve()
        }
        signal?.addEventListener('abort', done, { once: true })
        this.#waiters.push(done)
      })
    }
  }

  async trim(belowLsn: number): Promise<number> {
    if (this.#closed) throw new CairnError('CLOSED', 'memory log is closed')
    if (!Number.isSafeInteger(belowLsn)) throw new CairnError('INVALID_ARGUMENT', `belowLsn must be an integer (got ${belowLsn})`)
    const bound = Math.min(belowLsn, this.lastLsn + 1)
    const first = this.startLsn + Math.floor((bound - this.startLsn) / this.trimUnitRecords) * this.trimUnitRecords
    if (first > this.#firstLsn) {
      this.#entries.splice(0, first - this.#firstLsn)
      this.#firstLsn = first
    }
    return this.#firstLsn
  }

  async seal(): Promise<void> {
    if (!this.#sealed) this.#checkWritable()
    this.#sealed = true
    await this.#flushing
    this.#ended = true
    this.#wake()
  }

  cut(): LogCut {
    return { firstLsn: this.#firstLsn, lastLsn: this.lastLsn, files: [] }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#flushing
    this.#wake()
  }

  /** A new log holding exactly what this one acknowledged, as a reopen after a crash would find it. */
  reopen(): MemoryLog {
    const log = new MemoryLog({
      logId: this.logId,
      startLsn: this.startLsn,
      recordBytesMax: this.recordBytesMax,
      batchBytesMax: this.batchBytesMax,
      trimUnitRecords: this.trimUnitRecords,
    })
    log.#firstLsn = this.#firstLsn
    log.#entries = [...this.#entries]
    log.#nextLsn = this.lastLsn + 1
    return log
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  #checkWritable(): void {
    if (this.#sealed) throw new CairnError('LOG_SEALED', 'memory log is sealed: append to the newer log')
    if (this.#closed) throw new CairnError('CLOSED', 'memory log is closed')
  }
}
