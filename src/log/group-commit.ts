/**
 * Group commit: the append queue, the groups written from it, their syncs in flight, their
 * acknowledgement in order, the markers that tell readers the last group is durable, and the
 * segment roll.
 *
 * Invariants:
 * - under 'sync' durability an append resolves only after its bytes are fsynced, and after the
 *   directory entry of any segment it created is fsynced; concurrent appends share one write and
 *   one fsync (group commit); each sync in flight has its own descriptor (see active-segment.ts);
 * - LSNs are assigned when `append` is called, so callers (and reducers) know them up front; a
 *   failed write fails every append queued behind it too, the active segment is cut back to its
 *   last acknowledged size, and the next append reuses their LSNs;
 * - a failed fsync (of a group, `sync()`, a roll, a trim, close) is fatal: the log refuses all
 *   work (LOG_FAILED) until reopened and never hands out an LSN twice; the same holds when a
 *   cut-back fails;
 * - groups are acknowledged strictly in the order they were written, and `onDurable` is called
 *   synchronously, in LSN order, before each append resolves;
 * - a writer that goes idle writes a marker (a frame without records, not synced) carrying the
 *   durable LSN before the last group's appends resolve, so a reader beside it sees that group.
 */
import { assert } from '../io/assert.js'
import { CairnError, IoError, isCairnError } from '../io/errors.js'
import type { FileHandle } from '../io/file-system.js'
import { ActiveSegment } from './active-segment.js'
import { encodeFrame, type LogRecord } from './frame.js'
import type { AppendOptions } from './log.js'
import type { LogState } from './log-state.js'
import { createSegment, type Segment, SyncFailure } from './segment-file.js'
import { indexIntervalBytes } from './segment-scan.js'
import { lsnMismatch } from './log-errors.js'

/** One group commit writes at most this much (more only for a single larger batch). */
export const groupBytesMax = 4 * 1024 * 1024
/** Appends queued beyond this make `room()` wait. */
export const queueBytesMax = 64 * 1024 * 1024
/**
 * Group syncs in flight at once. The disk overlaps them, and appends that arrive meanwhile are
 * written as the next group instead of waiting a whole sync: throughput under many writers.
 */
export const syncDepthMax = 3

/** A group written and being synced; acknowledged strictly in order. */
interface Inflight {
  /** The descriptor this group was written and is being synced through (no other sync uses it meanwhile). */
  handle: FileHandle
  group: Pending[]
  offsets: number[]
  bytes: number
  /** Settles with the sync and never rejects; `error` tells how it went. */
  done: Promise<void>
  settled: boolean
  error: unknown
}

interface Pending {
  records: readonly LogRecord[]
  firstLsn: number
  bytes: number
  onDurable: ((lastLsn: number) => void) | undefined
  resolve: (lastLsn: number) => void
  reject: (error: unknown) => void
}

export class GroupCommit {
  readonly #state: LogState
  readonly file: ActiveSegment
  nextLsn: number
  /** Highest LSN known to be fsynced (see FileLog.syncedLsn). */
  syncedLsn: number
  #inflight: Inflight[] = []
  #arrival: (() => void) | undefined
  #queue: Pending[] = []
  queueBytes = 0
  #writing = false
  #roomWaiters: Array<() => void> = []
  /** Settles when the write loop has nothing queued or in flight. */
  idle: Promise<void> = Promise.resolve()
  #idleResolve: (() => void) | undefined

  constructor(state: LogState, active: FileHandle) {
    this.#state = state
    const last = state.activeSegment
    this.file = new ActiveSegment(state, active, last)
    this.nextLsn = last.lastLsn + 1
    this.syncedLsn = last.lastLsn
  }

  /** Queues a checked batch of `bytes` bytes (its frame); see `FileLog.append`. */
  append(records: readonly LogRecord[], bytes: number, options: AppendOptions): Promise<number> {
    if (options.expectedLsn !== undefined && options.expectedLsn !== this.nextLsn) {
      const { dir } = this.#state
      throw lsnMismatch(`log ${dir}`, options.expectedLsn, this.nextLsn, { dir })
    }
    const firstLsn = this.nextLsn
    this.nextLsn += records.length
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ records, firstLsn, bytes, onDurable: options.onDurable, resolve, reject })
      this.queueBytes += bytes
      if (!this.#writing) void this.writeLoop()
      else this.#arrival?.()
    })
  }

  /** Resolves when the queue has room (below `queueBytesMax`). */
  room(): Promise<void> {
    if (this.queueBytes < queueBytesMax || this.#state.closed || this.#state.failure !== undefined) return Promise.resolve()
    return new Promise((resolve) => this.#roomWaiters.push(resolve))
  }

  /** Fsyncs everything written so far and shows it to readers (for 'none' durability). */
  async syncWritten(): Promise<void> {
    const last = this.#state.lastLsn
    await this.file.sync('fsync')
    this.syncedLsn = Math.max(this.syncedLsn, last)
    // Readers show records once a frame says they are durable: write a marker that does.
    if (!this.#writing) void this.writeLoop()
    await this.idle
  }

  async writeLoop(): Promise<void> {
    this.#writing = true
    this.idle = new Promise((resolve) => (this.#idleResolve = resolve))
    try {
      for (;;) {
        await this.#drain()
        // (Appends may have arrived while `drain` returned.)
        if (this.#state.failure === undefined && this.#queue.length > 0) continue
        if (!this.markerDue()) break
        // One turn first: an append now makes the marker unneeded (its frame carries the LSN).
        await new Promise<void>((resolve) => setImmediate(resolve))
        if (!this.markerDue()) continue
        const segment = this.#state.activeSegment
        const bytes = await this.file.writeMarker(segment.lastLsn + 1, this.syncedLsn)
        segment.size += bytes
        if (bytes === 0 && this.#queue.length === 0) break
      }
      // Appends queued while a failed write was being repaired must not be left hanging when
      // the repair failed too: they fail with the log.
      if (this.#state.failure !== undefined) this.#failQueue(this.#state.failure)
    } finally {
      this.#writing = false
      this.#idleResolve?.()
    }
  }

  /** Writes, syncs and acknowledges groups until nothing is queued or in flight. */
  async #drain(): Promise<void> {
    const state = this.#state
    while (state.failure === undefined && (this.#queue.length > 0 || this.#inflight.length > 0)) {
      const segment = state.activeSegment
      const first = this.#queue[0]
      const hasFrames = segment.lastLsn >= segment.firstLsn || this.#inflight.length > 0
      const rollDue = first !== undefined && hasFrames && this.file.writtenSize + first.bytes > state.segmentBytesMax
      if (first !== undefined && !rollDue && this.#inflight.length < syncDepthMax) {
        // One turn first, so that appenders woken by the last acknowledgement join this group.
        await new Promise<void>((resolve) => setImmediate(resolve))
        await this.#startGroup(segment)
        continue
      }
      if (first !== undefined && rollDue && this.#inflight.length === 0) {
        try {
          await this.#roll()
        } catch (e) {
          this.#failQueue(isCairnError(e) ? e : new IoError('roll segment', state.dir, e))
        }
        continue
      }
      // Wait for the oldest sync, or, when another group could start, for an append.
      const oldest = this.#inflight[0]!
      if (first === undefined && this.#inflight.length < syncDepthMax) {
        await Promise.race([oldest.done, new Promise<void>((resolve) => (this.#arrival = resolve))])
      } else {
        await oldest.done
      }
      this.#arrival = undefined
      if (oldest.settled) await this.#finishOldest(segment)
    }
  }

  /** Writes as many queued batches as fit in the segment and one group, and starts its sync. */
  async #startGroup(segment: Segment): Promise<void> {
    const file = this.file
    let count = 0
    let bytes = 0
    for (const p of this.#queue) {
      const fits = file.writtenSize + bytes + p.bytes <= this.#state.segmentBytesMax && bytes + p.bytes <= groupBytesMax
      if (count > 0 && !fits) break
      count += 1
      bytes += p.bytes
    }
    const group = this.#queue.splice(0, count)
    this.queueBytes -= bytes
    const start = file.writtenSize
    const buffer = file.groupBuffer(bytes)
    const offsets: number[] = []
    let at = 0
    for (const p of group) {
      offsets.push(start + at)
      at += encodeFrame(buffer, at, p.records, p.firstLsn, this.syncedLsn, segment.salt)
    }
    assert(at === bytes, 'group encoded to its computed size')
    let handle = file.handle
    try {
      if (this.#state.durability === 'sync') handle = await file.freeHandle(this.#inflight, syncDepthMax)
      await file.writeGroup(handle, buffer, bytes, this.syncedLsn)
    } catch (e) {
      const error = new IoError('write', segment.path, e)
      for (const p of group) p.reject(error)
      await this.#failAll(error, segment)
      return
    }
    if (this.#state.durability === 'none') {
      this.#acknowledge(segment, group, offsets, bytes)
      return
    }
    const inflight: Inflight = { handle, group, offsets, bytes, done: Promise.resolve(), settled: false, error: undefined }
    inflight.done = handle.sync().then(
      () => {
        inflight.settled = true
      },
      (e: unknown) => {
        inflight.error = e ?? new Error('sync failed')
        inflight.settled = true
      },
    )
    this.#inflight.push(inflight)
  }

  /** The oldest sync settled: acknowledge its group, or fail the log. */
  async #finishOldest(segment: Segment): Promise<void> {
    const oldest = this.#inflight.shift()!
    if (oldest.error !== undefined) {
      const error = this.#state.fail(new IoError('fdatasync', segment.path, oldest.error))
      for (const p of oldest.group) p.reject(error)
      await this.#failAll(error, segment)
      return
    }
    // Nothing else in flight or queued: the writer goes idle, so tell readers now that this
    // group is durable, before its appends resolve (a reader that looks after an append
    // resolved sees it).
    let markerBytes = 0
    if (this.#inflight.length === 0 && this.#queue.length === 0) {
      const group = oldest.group[oldest.group.length - 1]!
      const groupLast = group.firstLsn + group.records.length - 1
      markerBytes = await this.file.writeMarker(groupLast + 1, groupLast)
    }
    this.#acknowledge(segment, oldest.group, oldest.offsets, oldest.bytes)
    segment.size += markerBytes
  }

  /** Readers would not see the last durable LSN: nothing written to the active segment carries it. */
  markerDue(): boolean {
    return (
      !this.#state.readOnly &&
      this.#state.failure === undefined &&
      this.#queue.length === 0 &&
      this.#inflight.length === 0 &&
      this.file.writtenDurableLsn < this.syncedLsn
    )
  }

  #acknowledge(segment: Segment, group: Pending[], offsets: number[], bytes: number): void {
    const state = this.#state
    assert(offsets[0] === segment.size, 'groups are acknowledged in the order they were written')
    const lastLsn = group[group.length - 1]!.firstLsn + group[group.length - 1]!.records.length - 1
    for (const [i, p] of group.entries()) {
      if (offsets[i]! - segment.lastIndexedOffset >= indexIntervalBytes) {
        segment.index.push([p.firstLsn, offsets[i]!])
        segment.lastIndexedOffset = offsets[i]!
      }
    }
    segment.size += bytes
    segment.lastLsn = lastLsn
    if (state.durability === 'sync') this.syncedLsn = lastLsn
    this.#wakeRoom()
    for (const p of group) {
      const batchLast = p.firstLsn + p.records.length - 1
      try {
        p.onDurable?.(batchLast)
      } catch (e) {
        // A failing apply hook is a bug above the log; the record is durable, so stop taking
        // writes: reopening replays it.
        state.failure = new CairnError('LOG_FAILED', `applying LSN ${batchLast} failed after it was logged: close and reopen the store`, {
          context: { lsn: batchLast },
          cause: e,
        })
        p.reject(state.failure)
        continue
      }
      p.resolve(batchLast)
    }
    state.wakeCommit()
    if (state.failure !== undefined) this.#failQueue(state.failure)
  }

  /**
   * Fails every group written after the acknowledged end and everything queued, and cuts the
   * active segment back to what was acknowledged. After a failed write the log goes on and the
   * next append reuses the rewound LSNs; after a failed sync (here or in a group still in
   * flight) the log has failed (`failure`) and no LSN is handed out again.
   */
  async #failAll(error: CairnError, segment: Segment): Promise<void> {
    const state = this.#state
    const inflight = this.#inflight.splice(0)
    // Fail the queue before any await: appends made from here on get the rewound LSNs and wait
    // for the repair below (or fail with the log if it fails too).
    this.#failQueue(error)
    await Promise.all(inflight.map((i) => i.done))
    const syncError = inflight.find((i) => i.error !== undefined)
    if (syncError !== undefined) state.fail(new IoError('fdatasync', segment.path, syncError.error))
    for (const i of inflight) for (const p of i.group) p.reject(state.failure ?? error)
    try {
      // Cut back even when the log has failed: a process that reopens it then finds only what
      // was acknowledged (unless it dies first: see the header comment of file-log.ts).
      await this.file.cutBack(segment.size)
      if (state.durability === 'sync' || state.failure !== undefined) await this.file.sync('fsync', state.failure !== undefined)
    } catch (e) {
      state.failure ??= new CairnError(
        'LOG_FAILED',
        `log ${state.dir} could not be repaired after a failed write: close and reopen the store (recovery will repair it)`,
        { context: { dir: state.dir }, cause: e },
      )
    }
  }

  #failQueue(error: unknown): void {
    const queued = this.#queue.splice(0)
    this.queueBytes = 0
    for (const p of queued) p.reject(error)
    this.nextLsn = this.#state.lastLsn + 1
    this.#wakeRoom()
  }

  /** Seals the active segment and starts a new one at lastLsn + 1. A failed fsync fails the log. */
  async #roll(): Promise<Segment> {
    const state = this.#state
    const sealed = state.activeSegment
    // Sealed segments are exactly their frames on disk (recovery is strict about them).
    assert(this.#inflight.length === 0 && this.file.writtenSize === sealed.size, 'a segment is sealed with nothing in flight')
    await this.file.handle.truncate(sealed.size)
    this.file.allocated = sealed.size
    await this.file.sync('fsync')
    this.syncedLsn = Math.max(this.syncedLsn, sealed.lastLsn)
    let created: { segment: Segment; handle: FileHandle }
    try {
      created = await createSegment(state.fs, state.dir, state.logId, sealed.lastLsn + 1)
    } catch (e) {
      if (e instanceof SyncFailure) throw state.fail(new IoError(e.operation, e.path, e.cause))
      throw e
    }
    state.segments.push(created.segment)
    await this.file.replace(created)
    return created.segment
  }

  /** Wakes appenders waiting in `room()` once the queue is below `queueBytesMax`. */
  wakeRoom(): void {
    this.#wakeRoom()
  }

  #wakeRoom(): void {
    if (this.queueBytes >= queueBytesMax) return
    const waiters = this.#roomWaiters
    this.#roomWaiters = []
    for (const w of waiters) w()
  }
}
