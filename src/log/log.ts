/**
 * The log a partition writes through: an ordered, durable sequence of records with dense LSNs.
 * The segmented file log (`FileLog`) is the first implementation, `MemoryLog` the test double,
 * and `LogChain` strings several logs of one partition into one LSN range. The interface is
 * shaped so that a replicated log service fits behind it too: with NATS JetStream an append is
 * a publish with an expected last sequence (`expectedLsn`) and an epoch header, `trim` a purge
 * below a sequence, and reads are ordered consumers.
 *
 * Contract (every implementation; the conformance suite checks it):
 * - LSNs are dense and unique: the log holds exactly `firstLsn..lastLsn`; an append of n records
 *   takes `nextLsn..nextLsn+n-1` as of the call, and no LSN is ever handed out twice;
 * - an append resolves once its records are durable under the log's durability, after calling
 *   `onDurable` synchronously, in LSN order; a rejected append has an unknown outcome;
 * - `syncedLsn <= lastLsn`: what a crash cannot take away;
 * - reads return what was acknowledged, in LSN order, and never an LSN above `lastLsn`;
 * - `trim(l)` removes only records below `l`, never one at or above it, and may keep more;
 * - `cut()` is synchronous: it captures the acknowledged end without pausing writers;
 * - after `seal()` the log takes no append (appends made before it still land) and its end is
 *   final and durable; reads and tails of it end at its last LSN; it can still be trimmed.
 */
import type { LogEntry, LogRecord } from './frame.js'

export type Durability = 'sync' | 'none'

export interface AppendOptions {
  /** Called synchronously, in LSN order, once the records are durable, before the promise resolves. */
  onDurable?: (lastLsn: number) => void
  /**
   * The LSN the caller expects the batch's first record to get: when the log's `nextLsn` differs
   * the append is refused with `LSN_MISMATCH` and nothing is written (a replicated log's
   * "expected last sequence", a follower's guard against gaps and duplicates).
   */
  expectedLsn?: number
}

/** One file of a cut: a copy of its first `bytes` bytes is a valid part of the log. */
export interface LogCutFile {
  logId: string
  path: string
  /** The first LSN the file holds. */
  firstLsn: number
  /** Bytes of the file that are acknowledged (the whole file for a sealed segment). */
  bytes: number
}

/** The acknowledged end of a log at one instant. */
export interface LogCut {
  firstLsn: number
  lastLsn: number
  /** Files in LSN order (empty for a log that keeps no files, such as the in-memory one). */
  files: LogCutFile[]
}

export interface Log {
  readonly logId: string
  readonly durability: Durability
  /** Largest single record, in bytes; a larger one is refused with `RECORD_TOO_LARGE`. */
  readonly recordBytesMax: number
  /** Largest batch, in bytes. */
  readonly batchBytesMax: number
  /** Lowest LSN still held (lastLsn + 1 when the log holds no record). */
  readonly firstLsn: number
  /** Highest acknowledged LSN (firstLsn - 1 when the log holds no record). */
  readonly lastLsn: number
  /** The LSN the next append gives its first record. */
  readonly nextLsn: number
  /** Highest LSN known durable. */
  readonly syncedLsn: number
  /** Bytes the log holds (for info and metrics). */
  readonly bytes: number
  /** Files or units of storage the log holds (for info and metrics). */
  readonly segmentCount: number
  /** True once sealed: no more appends. */
  readonly sealed: boolean

  append(records: readonly LogRecord[], options?: AppendOptions): Promise<number>
  /** Resolves when the append queue has room (backpressure). */
  room(): Promise<void>
  /** Makes every acknowledged record durable (needed under 'none'). */
  sync(): Promise<void>
  readBatches(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry[]>
  read(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry>
  /**
   * Reads from `fromLsn`, then waits for new records until the log closes or `signal` aborts; on a
   * sealed log, ends once it has yielded the last record.
   */
  tail(fromLsn: number, options?: { signal?: AbortSignal }): AsyncGenerator<LogEntry>
  /** Removes records below `belowLsn` (whole units only); returns the new first LSN. */
  trim(belowLsn: number): Promise<number>
  /** Refuses further appends, waits for those in flight and makes the end durable. */
  seal(): Promise<void>
  cut(): LogCut
  close(): Promise<void>
}
