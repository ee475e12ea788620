/**
 * Recovery scan of one segment: checks every frame, rebuilds the sparse LSN index, and tells a
 * torn tail (truncate it) from damage (refuse to open).
 *
 * Invariants:
 * - a sealed segment (not the last) must be whole: every frame valid, LSNs dense from the
 *   header's first LSN, ending exactly at end of file; anything else is CORRUPT_LOG;
 * - in the last segment, bad bytes at offset X are a torn tail only if no valid frame after X
 *   proves (by its `durableLsn`) that the records at X had been fsynced; otherwise CORRUPT_LOG.
 *   A torn tail is never acknowledged data, so truncating it loses nothing that was promised.
 *   A proof must pass the segment's salted crc and be plausible (the LSNs between the bad bytes
 *   and it fit in the bytes between), so a frame inside a torn payload proves nothing.
 */
import { CorruptionError } from '../io/errors.js'
import type { FileHandle } from '../io/file-system.js'
import { ChunkReader } from './chunk-reader.js'
import { decodeFrameHeader, decodeFrameRecords, frameHeaderBytes, frameIsValid, frameMagic, recordHeaderBytes } from './frame.js'
import { segmentHeaderBytes } from './segment-header.js'

/** One sparse index point per this many bytes of frames. */
export const indexIntervalBytes = 64 * 1024

export interface SegmentScan {
  /** Offset just past the last valid frame. */
  validEnd: number
  /** Last LSN in the segment, or firstLsn - 1 when it holds no frame. */
  lastLsn: number
  /** Sparse (lsn, offset) pairs, ascending: a frame starting with `lsn` is at `offset`. */
  index: Array<[number, number]>
  /** Set when the last segment had a torn tail starting here. */
  tornAt: number | undefined
  /**
   * The highest `durableLsn` a valid frame carries (at least `firstLsn - 1`, or `from.durableLsn`):
   * the writer had fsynced every record up to it.
   */
  durableLsn: number
}

export interface ScanOptions {
  /** Resume a scan here (a frame boundary) instead of after the header. */
  from?: { offset: number; lsn: number; lastIndexedOffset: number; durableLsn: number }
  /**
   * A reader beside a live writer (read-only mode): bad bytes at the end of the last segment
   * are a write in progress, so the scan just stops there.
   */
  live?: boolean
}

export async function scanSegment(
  handle: FileHandle,
  path: string,
  firstLsn: number,
  salt: number,
  isLast: boolean,
  options: ScanOptions = {},
): Promise<SegmentScan> {
  const size = await handle.size()
  const reader = new ChunkReader(handle, size)
  const index: Array<[number, number]> = []
  let position = options.from?.offset ?? segmentHeaderBytes
  let expected = options.from?.lsn ?? firstLsn
  let lastIndexed = options.from?.lastIndexedOffset ?? -Infinity
  let durableLsn = options.from?.durableLsn ?? firstLsn - 1
  // A live reader keeps only frames some frame proves fsynced: the writer may cut back (and
  // later rewrite with other bytes) any frame whose sync had not finished, so a reader that
  // moved past one would resume from a stale offset.
  const provenOnly = options.live === true && isLast
  let proven: ScanPoint = { end: position, lsn: expected - 1, indexLength: 0 }
  const unproven: ScanPoint[] = []
  const result = (tornAt: number | undefined): SegmentScan =>
    provenOnly
      ? { validEnd: proven.end, lastLsn: proven.lsn, index: index.slice(0, proven.indexLength), tornAt, durableLsn }
      : { validEnd: position, lastLsn: expected - 1, index, tornAt, durableLsn }
  while (position < size) {
    let { chunk, index: i } = await reader.at(position, frameHeaderBytes)
    const header = decodeFrameHeader(chunk, i)
    let problem: string | undefined
    if (header === undefined) problem = 'bad frame header'
    else {
      ;({ chunk, index: i } = await reader.at(position, frameHeaderBytes + header.bodyBytes))
      if (!frameIsValid(chunk, i, header, salt)) problem = 'frame checksum mismatch or frame cut short'
      else if (header.firstLsn !== expected) problem = `frame LSN ${header.firstLsn} where ${expected} was expected`
      else if (decodeFrameRecords(chunk, i, header) === undefined) problem = 'frame records do not add up'
    }
    if (problem !== undefined || header === undefined) {
      const lsnMismatch = problem?.startsWith('frame LSN') === true
      const proven = !isLast || lsnMismatch || (options.live !== true && (await laterFrameProvesDurable(handle, size, position, expected, salt)))
      if (proven) {
        throw corrupt(path, position, problem ?? 'bad frame', isLast)
      }
      return result(position)
    }
    if (position - lastIndexed >= indexIntervalBytes) {
      index.push([expected, position])
      lastIndexed = position
    }
    expected += header.recordCount
    position += frameHeaderBytes + header.bodyBytes
    durableLsn = Math.max(durableLsn, header.durableLsn)
    if (provenOnly) {
      unproven.push({ end: position, lsn: expected - 1, indexLength: index.length })
      while (unproven.length > 0 && unproven[0]!.lsn <= durableLsn) proven = unproven.shift()!
    }
  }
  return result(undefined)
}

/** Where a live scan may stop: the end of a frame, its last LSN, and the index entries before it. */
interface ScanPoint {
  end: number
  lsn: number
  indexLength: number
}

function corrupt(path: string, offset: number, problem: string, isLast: boolean): CorruptionError {
  return new CorruptionError(
    'CORRUPT_LOG',
    `log segment ${path} is damaged at byte ${offset} (${problem}) in ${isLast ? 'acknowledged data' : 'a sealed segment'}: ` +
      'restore the partition from a snapshot or backup; cairn will not skip damaged records',
    { context: { path, offset, problem } },
  )
}

/** Looks past a bad frame for a valid frame written after the bad bytes were known durable. */
async function laterFrameProvesDurable(handle: FileHandle, size: number, from: number, badLsn: number, salt: number): Promise<boolean> {
  const rest = new Uint8Array(size - from)
  const n = await handle.read(rest, 0, rest.length, from)
  const bytes = rest.subarray(0, n)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  for (let i = 1; i + frameHeaderBytes <= bytes.length; i++) {
    if (view.getUint32(i, true) !== frameMagic) continue
    const header = decodeFrameHeader(bytes, i)
    // A genuine later frame starts after the bad LSN, and the records between (at least one
    // frame of them, each record at least its header) fit in the bytes before it. Anything else
    // is frame-shaped bytes inside a torn record's payload, which must not turn a torn tail into
    // CORRUPT_LOG.
    if (header === undefined || header.firstLsn <= badLsn) continue
    if (i < frameHeaderBytes + (header.firstLsn - badLsn) * recordHeaderBytes) continue
    if (frameIsValid(bytes, i, header, salt) && header.durableLsn >= badLsn) return true
  }
  return false
}
