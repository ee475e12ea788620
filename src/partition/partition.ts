/**
 * A partition: an independent log (and, with the state engine, the state materialized from
 * it). Owned by a `Store`; users get it from `store.partition(id)`.
 *
 * Invariants:
 * - every write goes through the log first; nothing is acknowledged before the log says so;
 * - the log is trimmed only below the floor that every consumer of it allows (DESIGN.md
 *   invariant 5): for now the caller's bound, later min(state durable LSN, archived LSN,
 *   replication retention).
 */
import { CairnError } from '../io/errors.js'
import type { LogEntry, LogRecord } from '../log/frame.js'
import type { Log } from '../log/log.js'

/** The log record type of an opaque user payload. */
export const payloadRecordType = 1

export interface PartitionInfo {
  id: string
  logId: string
  firstLsn: number
  lastLsn: number
  logBytes: number
  segmentCount: number
}

export type Payload = Uint8Array | string

const encoder = new TextEncoder()

export class Partition {
  readonly id: string
  readonly dir: string
  readonly log: Log
  #closed = false

  /** @internal Partitions are opened by their store. */
  constructor(id: string, dir: string, log: Log) {
    this.id = id
    this.dir = dir
    this.log = log
  }

  get firstLsn(): number {
    return this.log.firstLsn
  }

  get lastLsn(): number {
    return this.log.lastLsn
  }

  /**
   * Appends payloads as one atomic batch (one LSN each); resolves with the last LSN once durable.
   *
   * @example
   * const lsn = await partition.append(['{"type":"created"}', new Uint8Array([1, 2])])
   */
  async append(payloads: readonly Payload[]): Promise<number> {
    this.#checkOpen()
    await this.log.room()
    const records: LogRecord[] = payloads.map((p) => ({
      type: payloadRecordType,
      payload: typeof p === 'string' ? encoder.encode(p) : p,
    }))
    return await this.log.append(records)
  }

  /**
   * Reads entries from `fromLsn` (default: the first), at most `limit` of them.
   *
   * @example
   * for await (const { lsn, payload } of partition.read({ fromLsn: 1, limit: 10 })) { ... }
   */
  async *read(options: { fromLsn?: number; limit?: number } = {}): AsyncGenerator<LogEntry> {
    this.#checkOpen()
    let left = options.limit ?? Number.POSITIVE_INFINITY
    if (left <= 0) return
    for await (const batch of this.log.readBatches(options.fromLsn ?? this.log.firstLsn)) {
      for (const entry of batch) {
        yield entry
        if (--left <= 0) return
      }
    }
  }

  /** Reads from `fromLsn`, then waits for new entries until the store closes or `signal` aborts. */
  tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
    this.#checkOpen()
    return this.log.tail(fromLsn, options)
  }

  /** Trims whole log segments below `belowLsn`; returns the new first LSN. */
  async trim(belowLsn: number): Promise<number> {
    this.#checkOpen()
    return await this.log.trim(belowLsn)
  }

  info(): PartitionInfo {
    return {
      id: this.id,
      logId: this.log.logId,
      firstLsn: this.log.firstLsn,
      lastLsn: this.log.lastLsn,
      logBytes: this.log.bytes,
      segmentCount: this.log.segmentCount,
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `partition ${this.id} is closed: open the store again`)
  }

  /** @internal */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.log.close()
  }
}
