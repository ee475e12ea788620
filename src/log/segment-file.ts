/**
 * Segment files on disk: creating one (temp name, header, fsync, rename, fsync dir), recovering
 * one at open, and, for read-only logs, scanning one further as a writer extends it.
 *
 * Invariants: a segment appears under its final name only with a whole, fsynced header; a
 * failed creation leaves no segment behind; recovery cuts a torn tail only when it may write;
 * a writable recovery of the last segment leaves it fsynced, so what it reports is durable.
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { tempSuffix } from '../io/atomic-write.js'
import { CairnError, CorruptionError } from '../io/errors.js'
import type { FileHandle, FileSystem } from '../io/file-system.js'
import { decodeSegmentHeader, encodeSegmentHeader, segmentFileName, segmentFormatVersion, segmentHeaderBytes } from './segment-header.js'
import { type SegmentScan, scanSegment } from './segment-scan.js'

/** An fsync (of a file or a directory) failed while making a segment: fatal for the log. */
export class SyncFailure extends Error {
  readonly operation: string
  readonly path: string
  constructor(operation: string, path: string, cause: unknown) {
    super(`${operation} ${path} failed`, { cause })
    this.operation = operation
    this.path = path
  }
}

/** What the log knows of one segment file. */
export interface Segment {
  firstLsn: number
  lastLsn: number
  path: string
  /** Bytes of valid, acknowledged frames (header included). */
  size: number
  index: Array<[number, number]>
  lastIndexedOffset: number
  /** The highest LSN a frame of this segment says the writer had fsynced (read-only logs). */
  durableLsn: number
  /** Seeds every frame's crc (see frame.ts). */
  salt: number
}

export async function createSegment(
  fs: FileSystem,
  dir: string,
  logId: string,
  firstLsn: number,
): Promise<{ segment: Segment; handle: FileHandle }> {
  const path = posix.join(dir, segmentFileName(firstLsn))
  const temp = path + tempSuffix
  const salt = randomBytes(4).readUInt32LE(0)
  const handle = await fs.open(temp, 'createOrTruncate')
  let renamed = false
  try {
    await handle.write(encodeSegmentHeader({ formatVersion: segmentFormatVersion, logId, firstLsn, createdAtMs: Date.now(), frameSalt: salt }), 0)
    await handle.sync().catch((e: unknown) => {
      throw new SyncFailure('fsync', temp, e)
    })
    await fs.rename(temp, path)
    renamed = true
    await fs.syncDir(dir).catch((e: unknown) => {
      throw new SyncFailure('fsync directory', dir, e)
    })
  } catch (e) {
    await handle.close().catch(() => undefined)
    // Leave no half-made segment behind: a stray segment would look like a gap or overlap later.
    await fs.unlink(renamed ? path : temp).catch(() => undefined)
    throw e
  }
  const segment: Segment = { firstLsn, lastLsn: firstLsn - 1, path, size: segmentHeaderBytes, index: [], lastIndexedOffset: -Infinity, durableLsn: firstLsn - 1, salt }
  return { segment, handle }
}

export async function recoverSegment(
  fs: FileSystem,
  dir: string,
  firstLsn: number,
  expectedLogId: string | undefined,
  isLast: boolean,
  readOnly: boolean,
  trustedClean = false,
): Promise<{ segment: Segment; logId: string }> {
  const path = posix.join(dir, segmentFileName(firstLsn))
  const handle = await fs.open(path, isLast && !readOnly ? 'readWrite' : 'read')
  try {
    const bytes = new Uint8Array(segmentHeaderBytes)
    const n = await handle.read(bytes, 0, bytes.length, 0)
    const header = decodeSegmentHeader(bytes.subarray(0, n))
    if (header === 'version') {
      throw new CairnError('UNSUPPORTED_FORMAT', `log segment ${path} has a format this version of cairn cannot read: upgrade cairn`, {
        context: { path },
      })
    }
    if (typeof header === 'string' || header.firstLsn !== firstLsn) {
      throw new CorruptionError(
        'CORRUPT_LOG',
        `log segment ${path} has a damaged header (${typeof header === 'string' ? header : 'LSN does not match the file name'}): restore the partition from a snapshot or backup`,
        { context: { path, offset: 0 } },
      )
    }
    if (expectedLogId !== undefined && header.logId !== expectedLogId) {
      throw new CorruptionError(
        'CORRUPT_LOG',
        `log segment ${path} belongs to log ${header.logId}, not ${expectedLogId}: a file from another log was copied in`,
        { context: { path, logId: header.logId, expectedLogId } },
      )
    }
    const scan = await scanSegment(handle, path, firstLsn, header.frameSalt, isLast, { live: readOnly })
    // A clean close in this process left the segment exactly its frames, fsynced (no torn tail).
    if (isLast && !readOnly && !(trustedClean && scan.tornAt === undefined)) {
      if (scan.tornAt !== undefined) await handle.truncate(scan.tornAt)
      await rewriteUnproven(handle, scan)
      // The last segment may hold groups whose sync never finished (the writer was killed with
      // the page cache intact): make them durable before the log counts them as such.
      await handle.sync()
    }
    const lastIndexedOffset = scan.index.length > 0 ? scan.index[scan.index.length - 1]![1] : -Infinity
    return {
      segment: { firstLsn, lastLsn: scan.lastLsn, path, size: scan.validEnd, index: scan.index, lastIndexedOffset, durableLsn: scan.durableLsn, salt: header.frameSalt },
      logId: header.logId,
    }
  } finally {
    await handle.close()
  }
}

/**
 * Writes back, unchanged, the bytes after the last record a frame proves fsynced (the proving
 * frame included: it may itself be unsynced). A writer whose fsync failed may have been killed
 * before it cut them back: Linux then marked their pages clean without writing them, so the
 * fsync after this would not write them either, yet they read back from the page cache.
 * Rewriting dirties them again. Starts at the sparse index point at or before the frame holding
 * the proven LSN, so it rewrites at most `indexIntervalBytes` more than needed. Bounded by what
 * the writer had in flight under 'sync' durability (a few groups and a marker); under 'none' it
 * can be the whole segment.
 */
async function rewriteUnproven(handle: FileHandle, scan: SegmentScan): Promise<void> {
  let from = segmentHeaderBytes
  for (const [lsn, offset] of scan.index) {
    if (lsn > scan.durableLsn) break
    from = offset
  }
  const buffer = new Uint8Array(rewriteChunkBytes)
  for (let at = from; at < scan.validEnd; at += rewriteChunkBytes) {
    const n = await handle.read(buffer, 0, Math.min(rewriteChunkBytes, scan.validEnd - at), at)
    await handle.write(buffer.subarray(0, n), at)
  }
}

const rewriteChunkBytes = 1024 * 1024

/** Read-only mode: scans a segment past what is known of it, for frames a writer added since. */
export async function extendSegment(fs: FileSystem, segment: Segment, isLast: boolean): Promise<void> {
  const handle = await fs.open(segment.path, 'read')
  try {
    const from = { offset: segment.size, lsn: segment.lastLsn + 1, lastIndexedOffset: segment.lastIndexedOffset, durableLsn: segment.durableLsn }
    const scan = await scanSegment(handle, segment.path, segment.firstLsn, segment.salt, isLast, { from, live: true })
    segment.index.push(...scan.index)
    if (scan.index.length > 0) segment.lastIndexedOffset = scan.index[scan.index.length - 1]![1]
    segment.size = scan.validEnd
    segment.lastLsn = scan.lastLsn
    segment.durableLsn = scan.durableLsn
  } finally {
    await handle.close()
  }
}
