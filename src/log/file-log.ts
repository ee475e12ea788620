/**
 * A partition's durable, segmented, append-only log.
 *
 * Invariants:
 * - LSNs are dense: the records on disk are exactly firstLsn..lastLsn, in order, across
 *   segments whose names and headers carry their first LSN;
 * - under 'sync' durability an append resolves only after its bytes are fsynced, and after the
 *   directory entry of any segment it created is fsynced; concurrent appends share one write and
 *   one fsync (group commit); each sync in flight has its own descriptor, so a writeback error
 *   is reported to every sync that could have covered the failed pages (Linux errseq);
 * - LSNs are assigned when `append` is called, so callers (and reducers) know them up front; a
 *   failed write fails every append queued behind it too, the active segment is cut back to its
 *   last acknowledged size, and the next append reuses their LSNs;
 * - a failed fsync (of a group, `sync()`, a roll, a trim, close) is fatal: the kernel may have
 *   dropped the pages and will not say so again, so the log refuses all work (LOG_FAILED) until
 *   reopened and never hands out an LSN twice; the same holds when a cut-back fails;
 * - open fsyncs the directory and the last segment (rewriting the frames no frame proves
 *   fsynced) before it trusts them, so what it reports as durable is;
 * - only whole sealed segments are trimmed, oldest first, each removal made durable before the
 *   next, so the log on disk is always one dense range;
 * - a read-only log (a reader beside the writer) shows LSN n only once a frame says the writer
 *   had fsynced n (every frame carries the writer's durable LSN; a sealed segment is wholly
 *   fsynced). So that the last group shows without waiting for the next one, a writer that goes
 *   idle writes a marker (a frame without records, not synced) carrying it, before the group's
 *   appends resolve. A reader lags by at most the groups in flight plus its poll interval;
 *   under 'none' durability, by what was written since the last `sync()`.
 *
 * A rejected append has an unknown outcome, not "not written": its bytes may be on disk. The
 * log cuts them back after a failure, but a process killed between a failed fsync and the
 * cut-back leaves them in the file (and in the page cache), and the next open keeps whatever
 * frames are whole and makes them durable. A caller that must know retries idempotently or
 * reads the log back after reopening.
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { mkdirDurable, tempSuffix } from '../io/atomic-write.js'
import { CairnError, CorruptionError, IoError, isCairnError, isNotFound } from '../io/errors.js'
import type { FileHandle, FileSystem } from '../io/file-system.js'
import { ChunkReader } from './chunk-reader.js'
import { checkRecordBytes, recordBytesMaxDefault } from './record-limits.js'
import type { AppendOptions, Durability, Log, LogCut } from './log.js'
import {
  bodyBytesOf,
  decodeFrameHeader,
  decodeFrameRecords,
  encodeFrame,
  frameHeaderBytes,
  frameIsValid,
  type LogEntry,
  type LogRecord,
} from './frame.js'
import { createSegment, extendSegment, recoverSegment, type Segment, SyncFailure } from './segment-file.js'
import { parseSegmentFileName, segmentFileName, segmentHeaderBytes } from './segment-header.js'
import { indexIntervalBytes } from './segment-scan.js'

export const segmentBytesMaxDefault = 64 * 1024 * 1024
export const batchBytesMaxDefault = 32 * 1024 * 1024
export const batchRecordsMax = 100_000
/** One group commit writes at most this much (more only for a single larger batch). */
export const groupBytesMax = 4 * 1024 * 1024
/** Appends queued beyond this make `room()` wait. */
export const queueBytesMax = 64 * 1024 * 1024
/**
 * The active segment is extended with zeros ahead of its data, so most appends do not change
 * the file's size and their fdatasync flushes data only, without a metadata journal commit.
 * Recovery reads the zeros as a torn tail and cuts them; sealing cuts them too. The first
 * extension of a segment is `preallocateFirstBytes` and each next one doubles, up to
 * `preallocateBytes`: a partition that holds a few records does not take megabytes on disk.
 */
export const preallocateBytes = 1024 * 1024
export const preallocateFirstBytes = 64 * 1024
const pageBytes = 4096
/**
 * Group syncs in flight at once. The disk overlaps them, and appends that arrive meanwhile are
 * written as the next group instead of waiting a whole sync: throughput under many writers.
 */
export const syncDepthMax = 3
/** Entries handed out per batch by `readBatches`. */
export const readBatchEntriesMax = 4096
/** How often a read-only log looks for new records while tailing. */
export const pollIntervalMsDefault = 100

export interface LogOptions {
  fs: FileSystem
  /** The directory holding this log's segments; created if missing. */
  dir: string
  /** The id of the log; a new log takes it (or a random one), an existing log must match it. */
  logId?: string
  /** The first LSN of a new log (default 1); ignored when the log exists. */
  startLsn?: number
  durability?: Durability
  segmentBytesMax?: number
  recordBytesMax?: number
  batchBytesMax?: number
  /**
   * Open beside a live writer (another process may own the store): no recovery writes, no
   * appends; `refresh()` and `tail` pick up what the writer adds.
   */
  readOnly?: boolean
  /** Read-only tail: how often to look for new records (default 100 ms). */
  pollIntervalMs?: number
}


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

/**
 * @example
 * const log = await FileLog.open({ fs: new NodeFileSystem(), dir: '/data/p/log' })
 * const lsn = await log.append([{ type: 1, payload: new TextEncoder().encode('hello') }])
 * for await (const entry of log.read(1)) console.log(entry.lsn, entry.payload)
 * await log.close()
 */
export class FileLog implements Log {
  readonly fs: FileSystem
  readonly dir: string
  readonly logId: string
  readonly durability: Durability
  readonly segmentBytesMax: number
  readonly recordBytesMax: number
  readonly batchBytesMax: number
  readonly readOnly: boolean
  readonly pollIntervalMs: number

  #segments: Segment[]
  /** The active segment's descriptor; it also writes and syncs groups. */
  #active: FileHandle
  /**
   * More descriptors of the active segment, opened on demand, so that every sync in flight has
   * its own: Linux reports a writeback error once per descriptor (errseq), so two syncs sharing
   * one could leave one of them returning 0 while the other consumed the error for its pages.
   */
  #spares: FileHandle[] = []
  /** The fsyncs of `#active` outside group commit, one at a time (see `#syncActive`). */
  #activeSyncs: Promise<void> = Promise.resolve()
  #nextLsn: number
  #syncedLsn: number
  /** Bytes of the active segment file, data plus zeros preallocated after it. */
  #allocated: number
  /** How far ahead the active segment's next extension reaches (doubles per extension). */
  #preallocateStep = preallocateFirstBytes
  /** The highest durable LSN carried by a frame written to the active segment (for readers). */
  #writtenDurableLsn: number
  /** End of the bytes written to the active segment (acknowledged ones end at `size`). */
  #writtenSize: number
  #inflight: Inflight[] = []
  #arrival: (() => void) | undefined
  #queue: Pending[] = []
  #queueBytes = 0
  #writing = false
  #closed = false
  #sealed = false
  #failure: CairnError | undefined
  #commitWaiters: Array<() => void> = []
  #roomWaiters: Array<() => void> = []
  #idle: Promise<void> = Promise.resolve()
  #idleResolve: (() => void) | undefined

  private constructor(options: Required<Omit<LogOptions, 'startLsn'>>, segments: Segment[], active: FileHandle) {
    this.readOnly = options.readOnly
    this.pollIntervalMs = options.pollIntervalMs
    this.fs = options.fs
    this.dir = options.dir
    this.logId = options.logId
    this.durability = options.durability
    this.segmentBytesMax = options.segmentBytesMax
    this.recordBytesMax = options.recordBytesMax
    this.batchBytesMax = options.batchBytesMax
    this.#segments = segments
    this.#active = active
    const last = segments[segments.length - 1]!
    this.#nextLsn = last.lastLsn + 1
    this.#syncedLsn = last.lastLsn
    this.#allocated = last.size
    this.#writtenSize = last.size
    this.#writtenDurableLsn = last.durableLsn
  }

  /** Opens (recovering) or creates the log in `options.dir`. */
  static async open(options: LogOptions): Promise<FileLog> {
    const { fs, dir } = options
    const segmentBytesMax = options.segmentBytesMax ?? segmentBytesMaxDefault
    const recordBytesMax = options.recordBytesMax ?? recordBytesMaxDefault
    const batchBytesMax = options.batchBytesMax ?? batchBytesMaxDefault
    assert(segmentBytesMax >= 4096, 'segmentBytesMax is at least 4 KiB')
    assert(recordBytesMax > 0 && batchBytesMax >= recordBytesMax, 'batchBytesMax >= recordBytesMax > 0')
    const startLsn = options.startLsn ?? 1
    assert(Number.isSafeInteger(startLsn) && startLsn >= 1, 'startLsn is a positive integer')
    const readOnly = options.readOnly ?? false
    try {
      if (!readOnly) await mkdirDurable(fs, dir)
      const names = await fs.list(dir)
      const temps = readOnly ? [] : names.filter((n) => n.endsWith(tempSuffix))
      for (const name of temps) await fs.unlink(posix.join(dir, name))
      // A killed writer may have left renames and removals whose directory fsync never ran:
      // they are visible now and may vanish on power loss. Make them durable before trusting.
      if (!readOnly) await fs.syncDir(dir)
      const firsts = names.map(parseSegmentFileName).filter((n): n is number => n !== undefined)
      firsts.sort((a, b) => a - b)
      let logId = options.logId
      const segments: Segment[] = []
      let active: FileHandle
      if (firsts.length === 0 && readOnly) {
        throw new CorruptionError('CORRUPT_LOG', `log ${dir} has no segment: restore the partition from a backup`, { context: { dir } })
      }
      if (firsts.length === 0) {
        logId ??= randomBytes(16).toString('hex')
        const created = await createSegment(fs, dir, logId, startLsn)
        segments.push(created.segment)
        active = created.handle
      } else {
        for (const [i, firstLsn] of firsts.entries()) {
          const recovered = await recoverSegment(fs, dir, firstLsn, logId, i === firsts.length - 1, readOnly)
          logId ??= recovered.logId
          const previous = segments[segments.length - 1]
          if (previous !== undefined && previous.lastLsn + 1 !== firstLsn) {
            throw new CorruptionError(
              'CORRUPT_LOG',
              `log ${dir} has a gap: segment ${segmentFileName(firstLsn)} starts at LSN ${firstLsn} but the one before ends at ${previous.lastLsn}: restore the partition from a snapshot or backup`,
              { context: { dir, firstLsn, previousLastLsn: previous.lastLsn } },
            )
          }
          segments.push(recovered.segment)
        }
        active = await fs.open(segments[segments.length - 1]!.path, readOnly ? 'read' : 'readWrite')
      }
      assert(logId !== undefined, 'log id known after open')
      const log = new FileLog(
        {
          fs,
          dir,
          logId,
          durability: options.durability ?? 'sync',
          segmentBytesMax,
          recordBytesMax,
          batchBytesMax,
          readOnly,
          pollIntervalMs: options.pollIntervalMs ?? pollIntervalMsDefault,
        },
        segments,
        active,
      )
      // Readers learn from a marker that what recovery kept is durable now.
      if (log.#markerDue()) {
        void log.#writeLoop()
        await log.#idle
      }
      return log
    } catch (e) {
      if (e instanceof SyncFailure) throw new IoError(e.operation, e.path, e.cause)
      throw isCairnError(e) ? e : new IoError('open log', dir, e)
    }
  }

  /** Lowest LSN still in the log (lastLsn + 1 when the log holds no record). */
  get firstLsn(): number {
    return this.#segments[0]!.firstLsn
  }

  /**
   * Highest acknowledged LSN (0 for a log that never held a record). A read-only log shows only
   * what the writer has fsynced: up to the highest durable LSN a frame carries (every record of
   * a sealed segment is).
   */
  get lastLsn(): number {
    const last = this.#segments[this.#segments.length - 1]!
    return this.readOnly ? Math.min(last.lastLsn, Math.max(last.durableLsn, last.firstLsn - 1)) : last.lastLsn
  }

  /** The LSN the next `append` will give its first record. */
  get nextLsn(): number {
    return this.#nextLsn
  }

  /**
   * Highest LSN known to be fsynced: after open, every LSN the log holds (open makes them
   * durable); then, under 'sync', every acknowledged one; under 'none', as of the last `sync()`.
   * A read-only log: the same as `lastLsn`.
   */
  get syncedLsn(): number {
    return this.readOnly ? this.lastLsn : this.#syncedLsn
  }

  get segmentCount(): number {
    return this.#segments.length
  }

  /** Bytes of segment files, headers included. */
  get bytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0)
  }

  /** Bytes queued but not yet written. */
  get queuedBytes(): number {
    return this.#queueBytes
  }

  /**
   * Appends records as one atomic batch; resolves with the batch's last LSN once durable (under
   * 'sync') or written (under 'none'). The LSNs are `nextLsn .. nextLsn + records.length - 1`
   * as of the call.
   */
  append(records: readonly LogRecord[], options: AppendOptions = {}): Promise<number> {
    this.#checkWritable()
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
    if (options.expectedLsn !== undefined && options.expectedLsn !== this.#nextLsn) {
      throw new CairnError('LSN_MISMATCH', `log ${this.dir}: the batch was meant for LSN ${options.expectedLsn} but the next LSN is ${this.#nextLsn}: read the log's end and retry from there`, {
        context: { dir: this.dir, expectedLsn: options.expectedLsn, nextLsn: this.#nextLsn },
      })
    }
    const firstLsn = this.#nextLsn
    this.#nextLsn += records.length
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ records, firstLsn, bytes, onDurable: options.onDurable, resolve, reject })
      this.#queueBytes += bytes
      if (!this.#writing) void this.#writeLoop()
      else this.#arrival?.()
    })
  }

  /** Resolves when the queue has room (below `queueBytesMax`): await it before appending. */
  room(): Promise<void> {
    if (this.#queueBytes < queueBytesMax || this.#closed || this.#failure !== undefined) return Promise.resolve()
    return new Promise((resolve) => this.#roomWaiters.push(resolve))
  }

  /**
   * Under 'none' durability, fsyncs everything written so far (under 'sync' it waits for the
   * groups being written, whose syncs are the log's). A failed fsync fails the log (LOG_FAILED).
   */
  async sync(): Promise<void> {
    this.#checkWritable()
    await this.#idle
    if (this.durability === 'sync') {
      if (this.#failure !== undefined) throw this.#failure
      return
    }
    this.#checkWritable()
    const last = this.lastLsn
    await this.#syncActive('fsync', this.#activePath())
    this.#syncedLsn = Math.max(this.#syncedLsn, last)
    // Readers show records once a frame says they are durable: write a marker that does.
    if (!this.#writing) void this.#writeLoop()
    await this.#idle
  }

  #activePath(): string {
    return this.#segments[this.#segments.length - 1]!.path
  }

  /**
   * A failed fsync: the kernel may have dropped the pages it could not write and will not report
   * it again, so nothing written since the last good sync can be trusted on this log any more.
   */
  /**
   * Every fsync of the active descriptor outside group commit (explicit `sync()`, roll, cut-back,
   * close) runs here, one after another: of several fsyncs in flight on one descriptor Linux
   * reports a writeback error to only one, and another would return 0 over dropped pages. So a
   * sync that returns while the log has failed (before it or meanwhile) fails too, except the
   * best-effort cut-back after a failure (`afterFailure`).
   */
  async #syncActive(operation: string, path: string, afterFailure = false): Promise<void> {
    const run = this.#activeSyncs.then(async () => {
      try {
        await this.#active.sync()
      } catch (e) {
        throw this.#fail(new IoError(operation, path, e))
      }
      if (!afterFailure && this.#failure !== undefined) throw this.#failure
    })
    this.#activeSyncs = run.catch(() => undefined)
    await run
  }

  #fail(cause: CairnError): CairnError {
    this.#failure ??= new CairnError(
      'LOG_FAILED',
      `log ${this.dir}: ${String(cause.context.operation)} ${String(cause.context.path)} failed (${String(cause.context.errno)}); what was written since the last successful fsync may be lost: close and reopen the store (recovery keeps what is on disk)`,
      { context: { dir: this.dir, operation: cause.context.operation, errno: cause.context.errno }, cause },
    )
    return this.#failure
  }

  #checkWritable(): void {
    if (this.#sealed) throw new CairnError('LOG_SEALED', `log ${this.dir} is sealed: append to the partition's newer log`)
    if (this.readOnly) throw new CairnError('READ_ONLY', `log ${this.dir} is open read-only: write through the store's owner`)
    if (this.#closed) throw new CairnError('CLOSED', `log ${this.dir} is closed: open the store again`)
    if (this.#failure !== undefined) throw this.#failure
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true
    this.#idle = new Promise((resolve) => (this.#idleResolve = resolve))
    try {
      for (;;) {
        await this.#drain()
        // (Appends may have arrived while `drain` returned.)
        if (this.#failure === undefined && this.#queue.length > 0) continue
        if (!this.#markerDue()) break
        // One turn first: an append now makes the marker unneeded (its frame carries the LSN).
        await new Promise<void>((resolve) => setImmediate(resolve))
        if (!this.#markerDue()) continue
        const segment = this.#segments[this.#segments.length - 1]!
        const bytes = await this.#writeMarker(segment, segment.lastLsn + 1, this.#syncedLsn)
        segment.size += bytes
        if (bytes === 0 && this.#queue.length === 0) break
      }
      // Appends queued while a failed write was being repaired must not be left hanging when
      // the repair failed too: they fail with the log.
      if (this.#failure !== undefined) this.#failQueue(this.#failure)
    } finally {
      this.#writing = false
      this.#idleResolve?.()
    }
  }

  /** Writes, syncs and acknowledges groups until nothing is queued or in flight. */
  async #drain(): Promise<void> {
    while (this.#failure === undefined && (this.#queue.length > 0 || this.#inflight.length > 0)) {
      const segment = this.#segments[this.#segments.length - 1]!
      const first = this.#queue[0]
      const hasFrames = segment.lastLsn >= segment.firstLsn || this.#inflight.length > 0
      const rollDue = first !== undefined && hasFrames && this.#writtenSize + first.bytes > this.segmentBytesMax
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
          this.#failQueue(isCairnError(e) ? e : new IoError('roll segment', this.dir, e))
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
    let count = 0
    let bytes = 0
    for (const p of this.#queue) {
      const fits = this.#writtenSize + bytes + p.bytes <= this.segmentBytesMax && bytes + p.bytes <= groupBytesMax
      if (count > 0 && !fits) break
      count += 1
      bytes += p.bytes
    }
    const group = this.#queue.splice(0, count)
    this.#queueBytes -= bytes
    const start = this.#writtenSize
    const end = start + bytes
    const extend = end > this.#allocated
    const allocateTo = extend ? Math.ceil((end + this.#preallocateStep) / pageBytes) * pageBytes : this.#allocated
    const buffer = new Uint8Array(bytes + Math.max(0, allocateTo - Math.max(end, this.#allocated)))
    const offsets: number[] = []
    let at = 0
    for (const p of group) {
      offsets.push(start + at)
      at += encodeFrame(buffer, at, p.records, p.firstLsn, this.#syncedLsn, segment.salt)
    }
    assert(at === bytes, 'group encoded to its computed size')
    let handle = this.#active
    try {
      if (this.durability === 'sync') handle = await this.#freeHandle(segment)
      await handle.write(end > this.#allocated ? buffer : buffer.subarray(0, bytes), start)
      this.#allocated = Math.max(this.#allocated, allocateTo)
      if (extend) this.#preallocateStep = Math.min(this.#preallocateStep * 2, preallocateBytes)
    } catch (e) {
      const error = new IoError('write', segment.path, e)
      for (const p of group) p.reject(error)
      await this.#failAll(error, segment)
      return
    }
    this.#writtenSize = end
    this.#writtenDurableLsn = Math.max(this.#writtenDurableLsn, this.#syncedLsn)
    if (this.durability === 'none') {
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

  /** A descriptor of the active segment with no sync in flight (opened on demand). */
  async #freeHandle(segment: Segment): Promise<FileHandle> {
    const busy = new Set(this.#inflight.map((i) => i.handle))
    for (const h of [this.#active, ...this.#spares]) if (!busy.has(h)) return h
    assert(this.#spares.length < syncDepthMax - 1, 'at most syncDepthMax descriptors per segment')
    const handle = await this.fs.open(segment.path, 'readWrite')
    this.#spares.push(handle)
    return handle
  }

  /** The oldest sync settled: acknowledge its group, or fail the log. */
  async #finishOldest(segment: Segment): Promise<void> {
    const oldest = this.#inflight.shift()!
    if (oldest.error !== undefined) {
      const error = this.#fail(new IoError('fdatasync', segment.path, oldest.error))
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
      markerBytes = await this.#writeMarker(segment, groupLast + 1, groupLast)
    }
    this.#acknowledge(segment, oldest.group, oldest.offsets, oldest.bytes)
    segment.size += markerBytes
  }

  /** Readers would not see the last durable LSN: nothing written to the active segment carries it. */
  #markerDue(): boolean {
    return (
      !this.readOnly &&
      this.#failure === undefined &&
      this.#queue.length === 0 &&
      this.#inflight.length === 0 &&
      this.#writtenDurableLsn < this.#syncedLsn
    )
  }

  /**
   * Writes a marker (a frame without records, not synced) at the end of what is written: LSN
   * `nextLsn` (the next record's), carrying `durableLsn`. Returns its length,
   * or 0 if the write failed (readers then learn it from the next frame; the next group
   * overwrites whatever the failed write left).
   */
  async #writeMarker(segment: Segment, nextLsn: number, durableLsn: number): Promise<number> {
    assert(this.#inflight.length === 0, 'a marker follows every frame written')
    const frame = new Uint8Array(frameHeaderBytes)
    encodeFrame(frame, 0, [], nextLsn, durableLsn, segment.salt)
    try {
      await this.#active.write(frame, this.#writtenSize)
    } catch {
      return 0
    }
    this.#writtenSize += frame.length
    this.#allocated = Math.max(this.#allocated, this.#writtenSize)
    this.#writtenDurableLsn = Math.max(this.#writtenDurableLsn, durableLsn)
    return frame.length
  }

  #acknowledge(segment: Segment, group: Pending[], offsets: number[], bytes: number): void {
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
    if (this.durability === 'sync') this.#syncedLsn = lastLsn
    this.#wakeRoom()
    for (const p of group) {
      const batchLast = p.firstLsn + p.records.length - 1
      try {
        p.onDurable?.(batchLast)
      } catch (e) {
        // A failing apply hook is a bug above the log; the record is durable, so stop taking
        // writes: reopening replays it.
        this.#failure = new CairnError('LOG_FAILED', `applying LSN ${batchLast} failed after it was logged: close and reopen the store`, {
          context: { lsn: batchLast },
          cause: e,
        })
        p.reject(this.#failure)
        continue
      }
      p.resolve(batchLast)
    }
    this.#wakeCommit()
    if (this.#failure !== undefined) this.#failQueue(this.#failure)
  }

  /**
   * Fails every group written after the acknowledged end and everything queued, and cuts the
   * active segment back to what was acknowledged. After a failed write the log goes on and the
   * next append reuses the rewound LSNs; after a failed sync (here or in a group still in
   * flight) the log has failed (`#failure`) and no LSN is handed out again.
   */
  async #failAll(error: CairnError, segment: Segment): Promise<void> {
    const inflight = this.#inflight.splice(0)
    // Fail the queue before any await: appends made from here on get the rewound LSNs and wait
    // for the repair below (or fail with the log if it fails too).
    this.#failQueue(error)
    await Promise.all(inflight.map((i) => i.done))
    const syncError = inflight.find((i) => i.error !== undefined)
    if (syncError !== undefined) this.#fail(new IoError('fdatasync', segment.path, syncError.error))
    for (const i of inflight) for (const p of i.group) p.reject(this.#failure ?? error)
    try {
      // Cut back even when the log has failed: a process that reopens it then finds only what
      // was acknowledged (unless it dies first: see the header comment).
      await this.#active.truncate(segment.size)
      this.#allocated = segment.size
      this.#writtenSize = segment.size
      if (this.durability === 'sync' || this.#failure !== undefined) await this.#syncActive('fsync', segment.path, this.#failure !== undefined)
    } catch (e) {
      this.#failure ??= new CairnError(
        'LOG_FAILED',
        `log ${this.dir} could not be repaired after a failed write: close and reopen the store (recovery will repair it)`,
        { context: { dir: this.dir }, cause: e },
      )
    }
  }

  #failQueue(error: unknown): void {
    const queued = this.#queue.splice(0)
    this.#queueBytes = 0
    for (const p of queued) p.reject(error)
    this.#nextLsn = this.lastLsn + 1
    this.#wakeRoom()
  }

  /** Seals the active segment and starts a new one at lastLsn + 1. A failed fsync fails the log. */
  async #roll(): Promise<Segment> {
    const sealed = this.#segments[this.#segments.length - 1]!
    // Sealed segments are exactly their frames on disk (recovery is strict about them).
    assert(this.#inflight.length === 0 && this.#writtenSize === sealed.size, 'a segment is sealed with nothing in flight')
    await this.#active.truncate(sealed.size)
    this.#allocated = sealed.size
    await this.#syncActive('fsync', sealed.path)
    this.#syncedLsn = Math.max(this.#syncedLsn, sealed.lastLsn)
    let created: { segment: Segment; handle: FileHandle }
    try {
      created = await createSegment(this.fs, this.dir, this.logId, sealed.lastLsn + 1)
    } catch (e) {
      if (e instanceof SyncFailure) throw this.#fail(new IoError(e.operation, e.path, e.cause))
      throw e
    }
    const old = [this.#active, ...this.#spares]
    this.#active = created.handle
    this.#spares = []
    this.#allocated = created.segment.size
    this.#preallocateStep = preallocateFirstBytes
    this.#writtenDurableLsn = created.segment.durableLsn
    this.#writtenSize = created.segment.size
    this.#segments.push(created.segment)
    for (const h of old) await h.close().catch(() => undefined)
    return created.segment
  }

  #wakeCommit(): void {
    const waiters = this.#commitWaiters
    this.#commitWaiters = []
    for (const w of waiters) w()
  }

  #wakeRoom(): void {
    if (this.#queueBytes >= queueBytesMax) return
    const waiters = this.#roomWaiters
    this.#roomWaiters = []
    for (const w of waiters) w()
  }

  #segmentIndexFor(lsn: number): number {
    let lo = 0
    let hi = this.#segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.#segments[mid]!.firstLsn <= lsn) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /**
   * Reads acknowledged entries from `fromLsn` through `toLsn` (default: lastLsn at the call) in
   * batches. Every frame's checksum is checked again on the way.
   */
  async *readBatches(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry[]> {
    if (!Number.isSafeInteger(fromLsn) || fromLsn < 1) {
      throw new CairnError('INVALID_ARGUMENT', `fromLsn must be a positive integer (got ${fromLsn})`)
    }
    const last = Math.min(toLsn ?? this.lastLsn, this.lastLsn)
    let next = fromLsn
    while (next <= last) {
      if (next < this.firstLsn) throw trimmed(this.dir, next, this.firstLsn)
      const segment = this.#segments[this.#segmentIndexFor(next)]!
      const end = segment.size
      let position = segmentHeaderBytes
      for (const [lsn, offset] of segment.index) {
        if (lsn > next) break
        position = offset
      }
      let handle: FileHandle
      try {
        handle = await this.fs.open(segment.path, 'read')
      } catch (e) {
        if (isNotFound(e)) throw trimmed(this.dir, next, this.firstLsn)
        throw new IoError('open', segment.path, e)
      }
      const before = next
      try {
        const reader = new ChunkReader(handle, end)
        let out: LogEntry[] = []
        while (position < end && next <= last) {
          let { chunk, index } = await reader.at(position, frameHeaderBytes)
          const header = decodeFrameHeader(chunk, index)
          if (header !== undefined) ({ chunk, index } = await reader.at(position, frameHeaderBytes + header.bodyBytes))
          const entries = header !== undefined && frameIsValid(chunk, index, header, segment.salt) ? decodeFrameRecords(chunk, index, header) : undefined
          if (header === undefined || entries === undefined) {
            throw new CorruptionError(
              'CORRUPT_LOG',
              `log segment ${segment.path} is damaged at byte ${position}: restore the partition from a snapshot or backup`,
              { context: { path: segment.path, offset: position } },
            )
          }
          for (const entry of entries) {
            if (entry.lsn >= next && entry.lsn <= last) out.push(entry)
          }
          next = Math.max(next, header.firstLsn + header.recordCount)
          position += frameHeaderBytes + header.bodyBytes
          if (out.length >= readBatchEntriesMax) {
            yield out
            out = []
          }
        }
        if (out.length > 0) yield out
      } catch (e) {
        throw isCairnError(e) ? e : new IoError('read', segment.path, e)
      } finally {
        await handle.close().catch(() => undefined)
      }
      assert(next > before || next > last, 'a read pass over a segment makes progress')
    }
  }

  /**
   * Reads acknowledged entries from `fromLsn` in order.
   *
   * @example
   * for await (const { lsn, payload } of log.read(1)) { ... }
   */
  async *read(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry> {
    for await (const batch of this.readBatches(fromLsn, toLsn)) yield* batch
  }

  /**
   * Like `read`, then waits for new entries until the log closes or `signal` aborts.
   *
   * @example
   * const ac = new AbortController()
   * for await (const entry of log.tail(log.lastLsn + 1, { signal: ac.signal })) { ... }
   */
  async *tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
    let next = fromLsn
    const { signal } = options
    while (!this.#closed && signal?.aborted !== true) {
      if (next <= this.lastLsn) {
        for await (const batch of this.readBatches(next)) {
          for (const entry of batch) yield entry
          next = batch[batch.length - 1]!.lsn + 1
        }
        continue
      }
      await this.#waitForCommit(signal)
    }
  }

  /**
   * Read-only mode: picks up records and segments the writer added since the last look, and
   * drops segments it trimmed. Returns whether there are new records.
   */
  async refresh(): Promise<boolean> {
    assert(this.readOnly, 'refresh is for read-only logs')
    if (this.#closed) return false
    const before = this.lastLsn
    try {
      // List first: a segment listed here was sealed before, so the scan below sees all of
      // the one before it.
      const firsts = (await this.fs.list(this.dir)).map(parseSegmentFileName).filter((n): n is number => n !== undefined)
      firsts.sort((a, b) => a - b)
      const listed = new Set(firsts)
      while (this.#segments.length > 1 && !listed.has(this.#segments[0]!.firstLsn)) this.#segments.shift()
      let last = this.#segments[this.#segments.length - 1]!
      const newer = firsts.filter((f) => f > last.firstLsn)
      await extendSegment(this.fs, last, newer.length === 0)
      for (const [i, firstLsn] of newer.entries()) {
        const isLast = i === newer.length - 1
        const recovered = await recoverSegment(this.fs, this.dir, firstLsn, this.logId, isLast, true)
        if (firstLsn !== last.lastLsn + 1) {
          throw new CorruptionError('CORRUPT_LOG', `log ${this.dir} has a gap before segment ${segmentFileName(firstLsn)}`, {
            context: { dir: this.dir, firstLsn, previousLastLsn: last.lastLsn },
          })
        }
        this.#segments.push(recovered.segment)
        last = recovered.segment
      }
    } catch (e) {
      throw isCairnError(e) ? e : new IoError('refresh log', this.dir, e)
    }
    this.#nextLsn = this.lastLsn + 1
    if (this.lastLsn > before) this.#wakeCommit()
    return this.lastLsn > before
  }

  #waitForCommit(signal: AbortSignal | undefined): Promise<void> {
    if (this.readOnly) return this.#poll(signal)
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done)
        resolve()
      }
      signal?.addEventListener('abort', done, { once: true })
      this.#commitWaiters.push(done)
    })
  }

  async #poll(signal: AbortSignal | undefined): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.pollIntervalMs)
      function done(): void {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      signal?.addEventListener('abort', done, { once: true })
    })
    if (signal?.aborted !== true) await this.refresh()
  }

  /**
   * Removes whole sealed segments whose records are all below `belowLsn`; returns the new
   * firstLsn. The caller decides what is safe to trim (DESIGN.md invariant 5).
   */
  async trim(belowLsn: number): Promise<number> {
    this.#checkWritable()
    assert(Number.isSafeInteger(belowLsn), 'belowLsn is an integer')
    while (this.#segments.length > 1 && this.#segments[0]!.lastLsn < belowLsn) {
      const oldest = this.#segments[0]!
      try {
        await this.fs.unlink(oldest.path)
      } catch (e) {
        if (!isNotFound(e)) throw new IoError('unlink', oldest.path, e)
      }
      this.#segments.shift()
      // One durable removal at a time: power loss can then only bring back the oldest ones,
      // never leave a hole in the middle. A failed directory fsync is not retried (a retry
      // can succeed without the removal being durable): the log fails, and reopening makes the
      // directory durable before it trusts it.
      try {
        await this.fs.syncDir(this.dir)
      } catch (e) {
        throw this.#fail(new IoError('fsync directory', this.dir, e))
      }
    }
    return this.firstLsn
  }

  get sealed(): boolean {
    return this.#sealed
  }

  /** Refuses further appends, waits for the queued ones and makes everything durable. */
  async seal(): Promise<void> {
    if (this.#sealed) return
    await this.sync()
    this.#sealed = true
    await this.#idle
  }

  /**
   * The acknowledged end, captured synchronously: every segment file with its acknowledged
   * length (the active one's `size` excludes groups still being written and its preallocated
   * zeros), so a copy of those prefixes is a valid log.
   */
  cut(): LogCut {
    return {
      firstLsn: this.firstLsn,
      lastLsn: this.lastLsn,
      files: this.#segments.map((s) => ({ logId: this.logId, path: s.path, firstLsn: s.firstLsn, bytes: s.size })),
    }
  }

  /** Waits for queued appends, fsyncs, and releases the files. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#idle
    this.#wakeCommit()
    this.#wakeRoom()
    const handles = [this.#active, ...this.#spares]
    try {
      if (this.#failure === undefined && !this.readOnly) {
        const path = this.#activePath()
        try {
          // Leave the file exactly its frames, without the preallocated zeros.
          await this.#active.truncate(this.#segments[this.#segments.length - 1]!.size)
        } catch (e) {
          throw new IoError('truncate', path, e)
        }
        try {
          await this.#syncActive('fsync', path)
          this.#syncedLsn = this.lastLsn
          // Under 'none' readers saw only what the last sync() covered: a marker shows them the rest.
          const segment = this.#segments[this.#segments.length - 1]!
          this.#allocated = this.#writtenSize = segment.size
          if (this.#markerDue() && (await this.#writeMarker(segment, segment.lastLsn + 1, this.#syncedLsn)) > 0) {
            segment.size = this.#writtenSize
            await this.#syncActive('fsync', path)
          }
        } catch (e) {
          throw isCairnError(e) ? e : this.#fail(new IoError('write marker', path, e))
        }
      }
    } finally {
      for (const h of handles) await h.close().catch(() => undefined)
    }
  }
}

function trimmed(dir: string, lsn: number, firstLsn: number): CairnError {
  return new CairnError(
    'LSN_TRIMMED',
    `LSN ${lsn} was trimmed from log ${dir} (it now starts at ${firstLsn}): read from ${firstLsn} or restore from a snapshot`,
    { context: { dir, lsn, firstLsn } },
  )
}
