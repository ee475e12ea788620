/**
 * Reading a file log: acknowledged entries from any LSN, in batches.
 *
 * Invariants:
 * - a read returns only acknowledged records, in LSN order, and never one above the log's
 *   `lastLsn` as of the call (for a read-only log: what a frame proves the writer fsynced, the
 *   durable watermark), nor above `toLsn`;
 * - every frame's checksum is checked again on the way: bad bytes are CORRUPT_LOG, never data;
 * - an LSN below the first one held (or in a segment trimmed while the read ran) is LSN_TRIMMED.
 */
import { assert } from '../io/assert.js'
import { CairnError, CorruptionError, IoError, isCairnError, isNotFound } from '../io/errors.js'
import type { FileHandle } from '../io/file-system.js'
import { ChunkReader } from './chunk-reader.js'
import { decodeFrameHeader, decodeFrameRecords, frameHeaderBytes, frameIsValid, type LogEntry } from './frame.js'
import type { LogState } from './log-state.js'
import { segmentHeaderBytes } from './segment-header.js'
import { lsnTrimmed } from './log-errors.js'

/** Entries handed out per batch by `readBatches`. */
export const readBatchEntriesMax = 4096

/**
 * Reads acknowledged entries from `fromLsn` through `toLsn` (default: lastLsn at the call) in
 * batches.
 */
export async function* readLogBatches(state: LogState, fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry[]> {
  if (!Number.isSafeInteger(fromLsn) || fromLsn < 1) {
    throw new CairnError('INVALID_ARGUMENT', `fromLsn must be a positive integer (got ${fromLsn})`)
  }
  if (toLsn !== undefined && Number.isNaN(toLsn)) {
    throw new CairnError('INVALID_ARGUMENT', `toLsn must be a number (got ${toLsn})`)
  }
  const last = Math.min(toLsn ?? state.lastLsn, state.lastLsn)
  let next = fromLsn
  while (next <= last) {
    const firstLsn = state.segments[0]!.firstLsn
    if (next < firstLsn) throw lsnTrimmed(`log ${state.dir}`, next, firstLsn, { dir: state.dir })
    const segment = state.segments[segmentIndexFor(state, next)]!
    const end = segment.size
    let position = segmentHeaderBytes
    for (const [lsn, offset] of segment.index) {
      if (lsn > next) break
      position = offset
    }
    let handle: FileHandle
    try {
      handle = await state.fs.open(segment.path, 'read')
    } catch (e) {
      if (isNotFound(e)) throw lsnTrimmed(`log ${state.dir}`, next, state.segments[0]!.firstLsn, { dir: state.dir })
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

function segmentIndexFor(state: LogState, lsn: number): number {
  const segments = state.segments
  let lo = 0
  let hi = segments.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (segments[mid]!.firstLsn <= lsn) lo = mid
    else hi = mid - 1
  }
  return lo
}
