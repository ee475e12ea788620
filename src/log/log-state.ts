/**
 * What the parts of a file log (group commit, reading, following, trimming) share: its
 * configuration, its segments, and whether it is closed, sealed or failed. Plain fields, read
 * directly by the parts that own a concept each, so that splitting the log along its concepts
 * adds no indirection on the append path.
 *
 * Invariants:
 * - `segments` is one dense range: each segment starts at the LSN after the one before ends,
 *   and the last one is the active segment (the one appends go to);
 * - `failure`, once set, stays set: a failed fsync may have lost pages the kernel will not report
 *   again, so the log refuses all work (LOG_FAILED) until reopened;
 * - `sealed`, `ended` and `closed` never go back to false; `ended` implies `sealed`.
 */
import { CairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import type { Durability } from './log.js'
import type { Segment } from './segment-file.js'

export class LogState {
  readonly fs: FileSystem
  readonly dir: string
  readonly logId: string
  readonly durability: Durability
  readonly segmentBytesMax: number
  readonly readOnly: boolean
  segments: Segment[]
  closed = false
  sealed = false
  /** Sealed and drained: no record will be added after `lastLsn` (tails end there). */
  ended = false
  failure: CairnError | undefined
  /** Tails waiting for the next acknowledged group (or a refresh that found records). */
  commitWaiters: Array<() => void> = []

  constructor(
    config: { fs: FileSystem; dir: string; logId: string; durability: Durability; segmentBytesMax: number; readOnly: boolean },
    segments: Segment[],
  ) {
    this.fs = config.fs
    this.dir = config.dir
    this.logId = config.logId
    this.durability = config.durability
    this.segmentBytesMax = config.segmentBytesMax
    this.readOnly = config.readOnly
    this.segments = segments
  }

  /** The segment appends go to (the last one). */
  get activeSegment(): Segment {
    return this.segments[this.segments.length - 1]!
  }

  /**
   * Highest acknowledged LSN (0 for a log that never held a record). A read-only log shows only
   * what the writer has fsynced: up to the highest durable LSN a frame carries (every record of
   * a sealed segment is).
   */
  get lastLsn(): number {
    const last = this.segments[this.segments.length - 1]!
    return this.readOnly ? Math.min(last.lastLsn, Math.max(last.durableLsn, last.firstLsn - 1)) : last.lastLsn
  }

  /**
   * A failed fsync: the kernel may have dropped the pages it could not write and will not report
   * it again, so nothing written since the last good sync can be trusted on this log any more.
   */
  fail(cause: CairnError): CairnError {
    this.failure ??= new CairnError(
      'LOG_FAILED',
      `log ${this.dir}: ${String(cause.context.operation)} ${String(cause.context.path)} failed (${String(cause.context.errno)}); what was written since the last successful fsync may be lost: close and reopen the store (recovery keeps what is on disk)`,
      { context: { dir: this.dir, operation: cause.context.operation, errno: cause.context.errno }, cause },
    )
    return this.failure
  }

  /** Throws unless the log takes appends. */
  checkWritable(): void {
    if (this.sealed) throw new CairnError('LOG_SEALED', `log ${this.dir} is sealed: append to the partition's newer log`)
    this.checkOpen()
  }

  /** Throws unless the log may change (a sealed log may still be trimmed). */
  checkOpen(): void {
    if (this.readOnly) throw new CairnError('READ_ONLY', `log ${this.dir} is open read-only: write through the store's owner`)
    if (this.closed) throw new CairnError('CLOSED', `log ${this.dir} is closed: open the store again`)
    if (this.failure !== undefined) throw this.failure
  }

  /** Wakes every tail waiting for new records (or for the log to close or seal). */
  wakeCommit(): void {
    const waiters = this.commitWaiters
    this.commitWaiters = []
    for (const w of waiters) w()
  }
}
