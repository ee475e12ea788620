/**
 * A new segment file holding the tail of another: the frames of `from` from the one that holds
 * `fromLsn` up to byte `bytes` (a cut's acknowledged length), behind a copy of `from`'s header
 * with that frame's first LSN (same log id, salt and format, so every frame stays valid). A
 * checkpoint copies only the part of an active segment its state does not already hold.
 *
 * Invariants:
 * - the new file is a valid segment on its own: named for its first LSN, frames dense from it,
 *   ending exactly at `bytes` of the source (a frame crossing `bytes` is CORRUPT_LOG);
 * - it is created new (never over an existing file) and fsynced before this resolves;
 * - when `fromLsn` is at or before the source's first LSN, the copy is the whole prefix, header
 *   bytes unchanged.
 */
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { CorruptionError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { ChunkReader, readChunkBytes } from './chunk-reader.js'
import { decodeFrameHeader, frameHeaderBytes } from './frame.js'
import { decodeSegmentHeader, encodeSegmentHeader, segmentFileName, segmentHeaderBytes } from './segment-header.js'

export interface CopiedSegment {
  path: string
  firstLsn: number
  bytes: number
  sha256: string
}

/**
 * @example
 * const tail = await copySegmentSuffix(fs, file.path, file.bytes, state.lsn + 1, '/backup/partitions/p/logs/<id>')
 */
export async function copySegmentSuffix(
  fs: FileSystem,
  from: string,
  bytes: number,
  fromLsn: number,
  toDir: string,
  onBytes?: (n: number) => void,
): Promise<CopiedSegment> {
  const damaged = (why: string, offset: number): CorruptionError =>
    new CorruptionError('CORRUPT_LOG', `log segment ${from} is damaged at byte ${offset} (${why}): restore the partition from a snapshot or backup`, {
      context: { path: from, offset },
    })
  const source = await fs.open(from, 'read')
  try {
    const original = new Uint8Array(segmentHeaderBytes)
    const n = await source.read(original, 0, original.length, 0)
    const header = decodeSegmentHeader(original.subarray(0, n))
    if (typeof header === 'string') throw damaged(`bad header: ${header}`, 0)
    let start = segmentHeaderBytes
    let firstLsn = header.firstLsn
    if (fromLsn > header.firstLsn) {
      const reader = new ChunkReader(source, bytes)
      let expected = header.firstLsn
      for (;;) {
        if (start >= bytes) {
          firstLsn = expected
          break
        }
        const { chunk, index } = await reader.at(start, frameHeaderBytes)
        const frame = decodeFrameHeader(chunk, index)
        if (frame === undefined || frame.firstLsn !== expected) throw damaged('bad frame header', start)
        if (start + frameHeaderBytes + frame.bodyBytes > bytes) throw damaged('a frame crosses the end of the copy', start)
        const holds = frame.recordCount > 0 ? frame.firstLsn + frame.recordCount - 1 >= fromLsn : frame.firstLsn >= fromLsn
        if (holds) {
          firstLsn = frame.firstLsn
          break
        }
        expected += frame.recordCount
        start += frameHeaderBytes + frame.bodyBytes
      }
    }
    const head = firstLsn === header.firstLsn ? original : encodeSegmentHeader({ ...header, firstLsn })
    const path = posix.join(toDir, segmentFileName(firstLsn))
    const hash = createHash('sha256')
    const out = await fs.open(path, 'createNew')
    try {
      await out.write(head, 0)
      hash.update(head)
      const buffer = new Uint8Array(readChunkBytes)
      let at = segmentHeaderBytes
      for (let position = start; position < bytes; ) {
        const want = Math.min(buffer.length, bytes - position)
        const got = await source.read(buffer, 0, want, position)
        if (got <= 0) throw damaged(`ends before the ${bytes} bytes expected`, position)
        const chunk = buffer.subarray(0, got)
        await out.write(chunk, at)
        hash.update(chunk)
        position += got
        at += got
        onBytes?.(got)
      }
      await out.sync()
      return { path, firstLsn, bytes: at, sha256: hash.digest('hex') }
    } finally {
      await out.close()
    }
  } finally {
    await source.close()
  }
}
