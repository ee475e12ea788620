/**
 * A partition's durable, segmented, append-only log: the file implementation of `Log`. It
 * composes the parts that own a concept each: recovery at open (log-recovery.ts), group commit
 * (group-commit.ts, active-segment.ts), reading (log-reader.ts) and following (log-follower.ts),
 * over the state they share (log-state.ts).
 *
 * Invariants:
 * - LSNs are dense: the records on disk are exactly firstLsn..lastLsn, in order, across
 *   segments whose names and headers carry their first LSN;
 * - an acknowledged append under 'sync' is fsynced, with the directory entry of any segment it
 *   created (group-commit.ts); open makes everything it keeps durable (log-recovery.ts);
 * - only whole sealed segments are trimmed, oldest first, each removal made durable before the
 *   next, so the log on disk is always one dense range;
 * - a sealed log takes no append, and its active segment is exactly its frames, fsynced: its
 *   end is final on disk, and reads and tails of it end at its last LSN;
 * - `cut()` reads only acknowledged sizes (a group's bytes count once it is acknowledged), so a
 *   copy of the cut's prefixes is a valid log.
 *
 * A rejected append has an unknown outcome, not "not written": its bytes may be on disk. The
 * log cuts them back after a failure, but a process killed between a failed fsync and the
 * cut-back leaves them in the file (and in the page cache), and the next open keeps whatever
 * frames are whole and makes them durable. A caller that must know retries idempotently or
 * reads the log back after reopening.
 */
import { assert } from '../io/assert.js'
import { CairnError, IoError, isCairnError, isNotFound } from '../io/errors.js'
import { type LogOptions, resolveLogOptions } from './file-log-options.js'
import { bodyBytesOf, frameHeaderBytes, type LogEntry, type LogRecord } from './frame.js'
import { GroupCommit } from './group-commit.js'
import type { AppendOptions, Durability, Log, LogCut } from './log.js'
import { refreshLog, tailLog } from './log-follower.js'
import { readLogBatches } from './log-reader.js'
import { recoverLog } from './log-recovery.js'
import { LogState } from './log-state.js'
import { checkRecordBytes } from './record-limits.js'
import { SyncFailure } from './segment-file.js'

export { preallocateBytes, preallocateFirstBytes } from './active-segment.js'
export { batchBytesMaxDefault, type LogOptions, pollIntervalMsDefault, segmentBytesMaxDefault } from './file-log-options.js'
export { groupBytesMax, queueBytesMax, syncDepthMax } from './group-commit.js'
export { readBatchEntriesMax } from './log-reader.js'

export const batchRecordsMax = 100_000

/**
 * @example
 * const log = await FileLog.open({ fs: new NodeFileSystem(), dir: '/data/p/log' })
 * const lsn = await log.append([{ type: 1, payload: new TextEncoder().encode('hello') }])
 * for await (const entry of log.read(1)) console.log(entry.lsn, entry.payload)
 * await log.close()
 */
export class FileLog implements Log {
  readonly fs: LogOptions['fs']
  readonly dir: string
  readonly logId: string
  readonly durability: Durability
  readonly segmentBytesMax: number
  readonly recordBytesMax: number
  readonly batchBytesMax: number
  readonly readOnly: boolean
  readonly pollIntervalMs: number

  readonly #state: LogState
  readonly #commit: GroupCommit
  #sealing: Promise<void> | undefined

  private constructor(state: LogState, commit: GroupCommit, limits: { recordBytesMax: number; batchBytesMax: number; pollIntervalMs: number }) {
    this.#state = state
    this.#commit = commit
    this.fs = state.fs
    this.dir = state.dir
    this.logId = state.logId
    this.durability = state.durability
    this.segmentBytesMax = state.segmentBytesMax
    this.readOnly = state.readOnly
    this.recordBytesMax = limits.recordBytesMax
    this.batchBytesMax = limits.batchBytesMax
    this.pollIntervalMs = limits.pollIntervalMs
  }

  /**
   * Opens (recovering) or creates the log in `options.dir`. Out-of-range options are
   * `INVALID_CONFIG`, refused before anything is written.
   */
  static async open(options: LogOptions): Promise<FileLog> {
    const config = resolveLogOptions(options)
    try {
      const { logId, segments, active } = await recoverLog(config)
      const state = new LogState({ ...config, logId }, segments)
      const log = new FileLog(state, new GroupCommit(state, active), config)
      // Readers learn from a marker that what recovery kept is durable now.
      if (log.#commit.markerDue()) {
        void log.#commit.writeLoop()
        await log.#commit.idle
      }
      return log
    } catch (e) {
      if (e instanceof SyncFailure) throw new IoError(e.operation, e.path, e.cause)
      throw isCairnError(e) ? e : new IoError('open log', config.dir, e)
    }
  }

  /** Lowest LSN still in the log (lastLsn + 1 when the log holds no record). */
  get firstLsn(): number {
    return this.#state.segments[0]!.firstLsn
  }

  /**
   * Highest acknowledged LSN (0 for a log that never held a record). A read-only log shows only
   * what the writer has fsynced.
   */
  get lastLsn(): number {
    return this.#state.lastLsn
  }

  /** The LSN the next `append` will give its first record. */
  get nextLsn(): number {
    return this.#commit.nextLsn
  }

  /**
   * Highest LSN known to be fsynced: after open, every LSN the log holds (open makes them
   * durable); then, under 'sync', every acknowledged one; under 'none', as of the last `sync()`.
   * A read-only log: the same as `lastLsn`.
   */
  get syncedLsn(): number {
    return this.readOnly ? this.lastLsn : this.#commit.syncedLsn
  }

  get segmentCount(): number {
    return this.#state.segments.length
  }

  /** Bytes of segment files, headers included. */
  get bytes(): number {
    return this.#state.segments.reduce((sum, s) => sum + s.size, 0)
  }

  /** Bytes queued but not yet written. */
  get queuedBytes(): number {
    return this.#commit.queueBytes
  }

  get sealed(): boolean {
    return this.#state.sealed
  }

  /**
   * Appends records as one atomic batch; resolves with the batch's last LSN once durable (under
   * 'sync') or written (under 'none'). The LSNs are `nextLsn .. nextLsn + records.length - 1`
   * as of the call.
   */
  append(records: readonly LogRecord[], options: AppendOptions = {}): Promise<number> {
    this.#state.checkWritable()
    if (records.length === 0) throw new CairnError('INVALID_ARGUMENT', 'append needs at least one record')
    if (records.length > batchRecordsMax) {
      throw new CairnError('BATCH_TOO_LARGE', `a batch holds at most ${batchRecordsMax} records: split it`, {
        context: { records: records.length, batchRecordsMax },
      })
    }
    for (const r of records) checkRecordBytes(r.payload.length, this.recordBytesMax)
    const bytes = frameHeaderBytes + bodyBytesOf(records)
    if (bytes > this.batchBytesMax) {
      throw new CairnError('BATCH_TOO_LARGE', `a batch is at most ${this.batchBytesMax} bytes (this one is ${bytes}): split it`, {
        context: { bytes, batchBytesMax: this.batchBytesMax },
      })
    }
    return this.#commit.append(records, bytes, options)
  }

  /** Resolves when the queue has room (below `queueBytesMax`): await it before appending. */
  room(): Promise<void> {
    return this.#commit.room()
  }

  /**
   * Under 'none' durability, fsyncs everything written so far (under 'sync' it waits for the
   * groups being written, whose syncs are the log's). A failed fsync fails the log (LOG_FAILED).
   * On a sealed log, waits for the seal (which made everything durable).
   */
  async sync(): Promise<void> {
    const state = this.#state
    if (state.sealed && this.#sealing !== undefined && !state.closed) return this.#sealing
    state.checkWritable()
    await this.#commit.idle
    if (this.durability === 'sync') {
      if (state.failure !== undefined) throw state.failure
      return
    }
    state.checkWritable()
    await this.#commit.syncWritten()
  }

  /** Reads acknowledged entries from `fromLsn` through `toLsn` (default: lastLsn at the call) in batches. */
  readBatches(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry[]> {
    return readLogBatches(this.#state, fromLsn, toLsn)
  }

  /**
   * Reads acknowledged entries from `fromLsn` in order.
   *
   * @example
   * for await (const { lsn, payload } of log.read(1)) { ... }
   */
  async *read(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry> {
    for await (const batch of readLogBatches(this.#state, fromLsn, toLsn)) yield* batch
  }

  /**
   * Like `read`, then waits for new entries until the log closes or `signal` aborts; on a sealed
   * log, ends after its last record.
   *
   * @example
   * const ac = new AbortController()
   * for await (const entry of log.tail(log.lastLsn + 1, { signal: ac.signal })) { ... }
   */
  tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
    return tailLog(this.#state, fromLsn, options.signal, this.pollIntervalMs)
  }

  /**
   * Read-only mode: picks up records and segments the writer added since the last look, and
   * drops segments it trimmed. Returns whether there are new records.
   */
  async refresh(): Promise<boolean> {
    assert(this.readOnly, 'refresh is for read-only logs')
    const found = await refreshLog(this.#state)
    this.#commit.nextLsn = this.lastLsn + 1
    return found
  }

  /**
   * Removes whole sealed segments whose records are all below `belowLsn`; returns the new
   * firstLsn. The caller decides what is safe to trim (see docs/design.md). A sealed log can
   * still be trimmed.
   */
  async trim(belowLsn: number): Promise<number> {
    const state = this.#state
    state.checkOpen()
    if (!Number.isSafeInteger(belowLsn)) throw new CairnError('INVALID_ARGUMENT', `belowLsn must be an integer (got ${belowLsn})`)
    while (state.segments.length > 1 && state.segments[0]!.lastLsn < belowLsn) {
      const oldest = state.segments[0]!
      try {
        await state.fs.unlink(oldest.path)
      } catch (e) {
        if (!isNotFound(e)) throw new IoError('unlink', oldest.path, e)
      }
      state.segments.shift()
      // One durable removal at a time: power loss can then only bring back the oldest ones,
      // never leave a hole in the middle. A failed directory fsync is not retried (a retry
      // can succeed without the removal being durable): the log fails, and reopening makes the
      // directory durable before it trusts it.
      try {
        await state.fs.syncDir(state.dir)
      } catch (e) {
        throw state.fail(new IoError('fsync directory', state.dir, e))
      }
    }
    return this.firstLsn
  }

  /**
   * Refuses further appends (LOG_SEALED from this call on), lets the queued ones finish, and
   * leaves the active segment exactly its frames, fsynced: the log's end is final on disk.
   * Tails end once they have delivered the last record. Idempotent.
   *
   * @example
   * await log.seal()   // then open the partition's next log at log.lastLsn + 1
   */
  seal(): Promise<void> {
    if (this.#sealing !== undefined) return this.#sealing
    const state = this.#state
    state.checkWritable()
    state.sealed = true
    this.#sealing = (async () => {
      try {
        await this.#commit.idle
        if (state.failure !== undefined) throw state.failure
        state.ended = true
        await this.#finishActive()
      } finally {
        state.wakeCommit()
      }
    })()
    return this.#sealing
  }

  /**
   * The acknowledged end, captured synchronously: every segment file with its acknowledged
   * length (the active one's `size` excludes groups still being written and its preallocated
   * zeros), so a copy of those prefixes is a valid log.
   */
  cut(): LogCut {
    const { logId, segments } = this.#state
    return {
      firstLsn: this.firstLsn,
      lastLsn: this.lastLsn,
      files: segments.map((s) => ({ logId, path: s.path, firstLsn: s.firstLsn, bytes: s.size })),
    }
  }

  /** Waits for queued appends (and a seal in progress), fsyncs, and releases the files. Idempotent. */
  async close(): Promise<void> {
    const state = this.#state
    if (state.closed) return
    state.closed = true
    await this.#commit.idle
    await this.#sealing?.catch(() => undefined)
    state.wakeCommit()
    this.#commit.wakeRoom()
    try {
      if (state.failure === undefined && !this.readOnly) await this.#finishActive()
    } finally {
      await this.#commit.file.closeHandles()
    }
  }

  /**
   * Leaves the active segment exactly its frames (without the preallocated zeros), fsynced, with
   * a marker when readers would not otherwise learn that its end is durable (under 'none').
   */
  async #finishActive(): Promise<void> {
    const segment = this.#state.activeSegment
    const file = this.#commit.file
    try {
      await file.cutBack(segment.size)
    } catch (e) {
      throw new IoError('truncate', segment.path, e)
    }
    try {
      await file.sync('fsync')
      this.#commit.syncedLsn = this.lastLsn
      // Under 'none' readers saw only what the last sync() covered: a marker shows them the rest.
      if (this.#commit.markerDue() && (await file.writeMarker(segment.lastLsn + 1, this.#commit.syncedLsn)) > 0) {
        segment.size = file.writtenSize
        await file.sync('fsync')
      }
    } catch (e) {
      throw isCairnError(e) ? e : this.#state.fail(new IoError('write marker', segment.path, e))
    }
  }
}
