/**
 * The header that opens every log segment file, and the segment file name.
 *
 * Invariants:
 * - a segment file only ever appears under its final name with a complete, fsynced header
 *   (written under a temp name and renamed), so a bad header is damage, never a torn write;
 * - the name carries the segment's first LSN, and so does the header: they must agree;
 * - every segment of one log carries the same 16-byte log id;
 * - format 2 carries a random frame salt that seeds every frame's crc (format 1: none, read as
 *   salt 0; still read, and appended to with salt 0, so logs from before format 2 open as they
 *   were).
 *
 * Layout: 0 "CAIRNLOG" | 8 u32 formatVersion | 12 u32 0 | 16 logId[16] | 32 u64 firstLsn |
 *         40 u64 createdAtMs | 48 u32 frameSalt (format 2; 0 in format 1) | 52 zero[8] |
 *         60 u32 crc32(header[0..60))
 */
import { crc32 } from '../io/checksum.js'

export const segmentHeaderBytes = 64
/** The format new segments are written in. */
export const segmentFormatVersion = 2
/** Formats this version reads. */
export const segmentFormatVersionsRead: readonly number[] = [1, 2]
const magic = new TextEncoder().encode('CAIRNLOG')
const nameRegExp = /^(\d{20})\.log$/

export interface SegmentHeader {
  formatVersion: number
  logId: string
  firstLsn: number
  createdAtMs: number
  /** Seeds the crc of every frame in the segment (0 in format 1). */
  frameSalt: number
}

export function segmentFileName(firstLsn: number): string {
  return `${String(firstLsn).padStart(20, '0')}.log`
}

/** The first LSN in a segment file name, or `undefined` if the name is not a segment's. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = nameRegExp.exec(name)
  return m === null ? undefined : Number(m[1])
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(segmentHeaderBytes)
  const view = new DataView(bytes.buffer)
  bytes.set(magic, 0)
  view.setUint32(8, header.formatVersion, true)
  bytes.set(Buffer.from(header.logId, 'hex'), 16)
  view.setBigUint64(32, BigInt(header.firstLsn), true)
  view.setBigUint64(40, BigInt(header.createdAtMs), true)
  if (header.formatVersion >= 2) view.setUint32(48, header.frameSalt >>> 0, true)
  view.setUint32(60, crc32(bytes.subarray(0, 60)), true)
  return bytes
}

export type HeaderProblem = 'short' | 'magic' | 'checksum' | 'version'

export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader | HeaderProblem {
  if (bytes.length < segmentHeaderBytes) return 'short'
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return 'magic'
  const view = new DataView(bytes.buffer, bytes.byteOffset, segmentHeaderBytes)
  if (view.getUint32(60, true) !== crc32(bytes.subarray(0, 60))) return 'checksum'
  const formatVersion = view.getUint32(8, true)
  if (!segmentFormatVersionsRead.includes(formatVersion)) return 'version'
  return {
    formatVersion,
    logId: Buffer.from(bytes.subarray(16, 32)).toString('hex'),
    firstLsn: Number(view.getBigUint64(32, true)),
    createdAtMs: Number(view.getBigUint64(40, true)),
    frameSalt: formatVersion >= 2 ? view.getUint32(48, true) : 0,
  }
}
