/**
 * The active segment file as the writer holds it: its descriptors, how far it is written and
 * preallocated, and every write and fsync of it.
 *
 * Invariants:
 * - each group sync in flight has its own descriptor (spares are opened on demand): Linux reports
 *   a writeback error once per descriptor (errseq), so two syncs sharing one could leave one of
 *   them returning 0 while the other consumed the error for its pages;
 * - every fsync of the main descriptor outside group commit runs through `sync`, one at a time,
 *   and fails when the log has failed before or meanwhile;
 * - the file is extended with zeros ahead of its data (`allocated` >= `writtenSize`), which
 *   recovery reads as a torn tail; sealing, rolling and closing cut them.
 */
import { assert } from '../io/assert.js'
import { IoError } from '../io/errors.js'
import type { FileHandle } from '../io/file-system.js'
import { encodeFrame, frameHeaderBytes } from './frame.js'
import type { LogState } from './log-state.js'
import type { Segment } from './segment-file.js'

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

export class ActiveSegment {
  readonly #state: LogState
  /** The active segment's main descriptor; it also writes and syncs groups. */
  handle: FileHandle
  /**
   * More descriptors of the active segment, opened on demand, so that every sync in flight has
   * its own: Linux reports a writeback error once per descriptor (errseq), so two syncs sharing
   * one could leave one of them returning 0 while the other consumed the error for its pages.
   */
  #spares: FileHandle[] = []
  /** The fsyncs of `handle` outside group commit, one at a time (see `sync`). */
  #syncs: Promise<void> = Promise.resolve()
  /** Bytes of the active segment file, data plus zeros preallocated after it. */
  allocated: number
  /** How far ahead the active segment's next extension reaches (doubles per extension). */
  #preallocateStep = preallocateFirstBytes
  /** The highest durable LSN carried by a frame written to the active segment (for readers). */
  writtenDurableLsn: number
  /** End of the bytes written to the active segment (acknowledged ones end at `size`). */
  writtenSize: number

  constructor(state: LogState, handle: FileHandle, segment: Segment) {
    this.#state = state
    this.handle = handle
    this.allocated = segment.size
    this.writtenSize = segment.size
    this.writtenDurableLsn = segment.durableLsn
  }

  /**
   * Every fsync of the active descriptor outside group commit (explicit `sync()`, roll, cut-back,
   * seal, close) runs here, one after another: of several fsyncs in flight on one descriptor Linux
   * reports a writeback error to only one, and another would return 0 over dropped pages. So a
   * sync that returns while the log has failed (before it or meanwhile) fails too, except the
   * best-effort cut-back after a failure (`afterFailure`).
   */
  async sync(operation: string, afterFailure = false): Promise<void> {
    const state = this.#state
    const path = state.activeSegment.path
    const run = this.#syncs.then(async () => {
      try {
        await this.handle.sync()
      } catch (e) {
        throw state.fail(new IoError(operation, path, e))
      }
      if (!afterFailure && state.failure !== undefined) throw state.failure
    })
    this.#syncs = run.catch(() => undefined)
    await run
  }

  /** A descriptor of the active segment with no sync in flight (opened on demand). */
  async freeHandle(inflight: ReadonlyArray<{ handle: FileHandle }>, descriptorsMax: number): Promise<FileHandle> {
    const busy = new Set(inflight.map((i) => i.handle))
    for (const h of [this.handle, ...this.#spares]) if (!busy.has(h)) return h
    assert(this.#spares.length < descriptorsMax - 1, 'at most syncDepthMax descriptors per segment')
    const handle = await this.#state.fs.open(this.#state.activeSegment.path, 'readWrite')
    this.#spares.push(handle)
    return handle
  }

  /**
   * A buffer for a group of `bytes` bytes written at `writtenSize`, followed by the zeros of the
   * next extension when the group reaches past what is preallocated.
   */
  groupBuffer(bytes: number): Uint8Array {
    const end = this.writtenSize + bytes
    if (end <= this.allocated) return new Uint8Array(bytes)
    const allocateTo = Math.ceil((end + this.#preallocateStep) / pageBytes) * pageBytes
    return new Uint8Array(allocateTo - this.writtenSize)
  }

  /**
   * Writes the first `bytes` of a `groupBuffer` (with its zeros, when it extends the file) at
   * `writtenSize` through `handle`; once written, the frames carry `durableLsn`.
   */
  async writeGroup(handle: FileHandle, buffer: Uint8Array, bytes: number, durableLsn: number): Promise<void> {
    const start = this.writtenSize
    const extend = start + bytes > this.allocated
    await handle.write(extend ? buffer : buffer.subarray(0, bytes), start)
    if (extend) {
      this.allocated = Math.max(this.allocated, start + buffer.length)
      this.#preallocateStep = Math.min(this.#preallocateStep * 2, preallocateBytes)
    }
    this.writtenSize = start + bytes
    this.writtenDurableLsn = Math.max(this.writtenDurableLsn, durableLsn)
  }

  /**
   * Writes a marker (a frame without records, not synced) at the end of what is written: LSN
   * `nextLsn` (the next record's), carrying `durableLsn`. Returns its length, or 0 if the write
   * failed (readers then learn it from the next frame; the next group overwrites whatever the
   * failed write left). The caller has nothing in flight: a marker follows every frame written.
   */
  async writeMarker(nextLsn: number, durableLsn: number): Promise<number> {
    const frame = new Uint8Array(frameHeaderBytes)
    encodeFrame(frame, 0, [], nextLsn, durableLsn, this.#state.activeSegment.salt)
    try {
      await this.handle.write(frame, this.writtenSize)
    } catch {
      return 0
    }
    this.writtenSize += frame.length
    this.allocated = Math.max(this.allocated, this.writtenSize)
    this.writtenDurableLsn = Math.max(this.writtenDurableLsn, durableLsn)
    return frame.length
  }

  /** Cuts the file back to `size` bytes (dropping what is written after it and the preallocated zeros). */
  async cutBack(size: number): Promise<void> {
    await this.handle.truncate(size)
    this.allocated = size
    this.writtenSize = size
  }

  /** After a roll: `created` is the active segment now; the old descriptors are closed. */
  async replace(created: { segment: Segment; handle: FileHandle }): Promise<void> {
    const old = [this.handle, ...this.#spares]
    this.handle = created.handle
    this.#spares = []
    this.allocated = created.segment.size
    this.#preallocateStep = preallocateFirstBytes
    this.writtenDurableLsn = created.segment.durableLsn
    this.writtenSize = created.segment.size
    for (const h of old) await h.close().catch(() => undefined)
  }

  async closeHandles(): Promise<void> {
    for (const h of [this.handle, ...this.#spares]) await h.close().catch(() => undefined)
  }
}
