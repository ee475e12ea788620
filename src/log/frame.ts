/**
 * The on-disk frame of one atomic append (a batch of records), or of a marker.
 *
 * Invariants:
 * - a frame is self-checking: magic, then a crc32 over the header fields and the body, seeded
 *   with its segment's salt (random per segment, 0 in format-1 segments); a frame that fails its
 *   check is never returned as data, and frame-shaped bytes inside a payload (a log of logs, a
 *   hostile client) do not pass for a frame of this segment;
 * - a frame holds records `firstLsn .. firstLsn + recordCount - 1`, so a multi-record append is
 *   all or nothing: recovery keeps or drops whole frames;
 * - a marker is a frame with no records (and no body) at `firstLsn` = the next LSN: it only
 *   carries `durableLsn`, so that readers learn that the last group was fsynced;
 * - `durableLsn` is the highest LSN the writer knew to be fsynced when it wrote the frame: a
 *   valid frame after a damaged one whose `durableLsn` covers the damaged one proves that the
 *   damaged bytes had been acknowledged (corruption, not a torn tail).
 *
 * Layout, little-endian:
 *   0  u32 magic          4  u32 bodyBytes     8  u64 firstLsn
 *  16  u32 recordCount   20  u64 durableLsn   28  u32 crc32(header[0..28) ++ body, seed = salt)
 *  32  body: recordCount x (u8 type, u32 payloadBytes, payload)
 */
import { assert } from '../io/assert.js'
import { crc32 } from '../io/checksum.js'

export const frameMagic = 0x4c4e5243 // "CRNL"
export const frameHeaderBytes = 32
export const recordHeaderBytes = 5
/** An upper bound on a frame's body, so a damaged length field cannot make a reader allocate GiBs. */
export const frameBodyBytesMax = 256 * 1024 * 1024

export interface LogRecord {
  /** 0..255. Type 1 is an opaque user payload; higher layers define the others. */
  type: number
  payload: Uint8Array
}

export interface LogEntry extends LogRecord {
  lsn: number
}

export interface FrameHeader {
  bodyBytes: number
  firstLsn: number
  recordCount: number
  durableLsn: number
  crc: number
}

function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 0x1_0000_0000, true)
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true)
}

function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x1_0000_0000
}

export function bodyBytesOf(records: readonly LogRecord[]): number {
  let total = 0
  for (const r of records) total += recordHeaderBytes + r.payload.length
  return total
}

/**
 * Encodes one frame (a marker when `records` is empty) into `target` at `offset`; returns the
 * frame's length.
 */
export function encodeFrame(
  target: Uint8Array,
  offset: number,
  records: readonly LogRecord[],
  firstLsn: number,
  durableLsn: number,
  salt = 0,
): number {
  assert(Number.isSafeInteger(firstLsn) && firstLsn >= 1, 'firstLsn is a positive safe integer')
  assert(durableLsn < firstLsn, 'a frame is written before its records are durable')
  const bodyBytes = bodyBytesOf(records)
  assert(target.length - offset >= frameHeaderBytes + bodyBytes, 'frame target is large enough')
  const view = new DataView(target.buffer, target.byteOffset + offset, frameHeaderBytes + bodyBytes)
  view.setUint32(0, frameMagic, true)
  view.setUint32(4, bodyBytes, true)
  writeU64(view, 8, firstLsn)
  view.setUint32(16, records.length, true)
  writeU64(view, 20, durableLsn)
  let at = frameHeaderBytes
  for (const r of records) {
    assert(Number.isInteger(r.type) && r.type >= 0 && r.type <= 255, 'record type is a byte')
    view.setUint8(at, r.type)
    view.setUint32(at + 1, r.payload.length, true)
    target.set(r.payload, offset + at + recordHeaderBytes)
    at += recordHeaderBytes + r.payload.length
  }
  const frame = target.subarray(offset, offset + frameHeaderBytes + bodyBytes)
  const crc = crc32(frame.subarray(frameHeaderBytes), crc32(frame.subarray(0, 28), salt))
  view.setUint32(28, crc, true)
  return frameHeaderBytes + bodyBytes
}

/**
 * Reads a frame header at `offset`; `undefined` when there are fewer than `frameHeaderBytes`
 * bytes or the magic is wrong. Does not check the crc (see `frameIsValid`).
 */
export function decodeFrameHeader(source: Uint8Array, offset: number): FrameHeader | undefined {
  if (source.length - offset < frameHeaderBytes) return undefined
  const view = new DataView(source.buffer, source.byteOffset + offset, frameHeaderBytes)
  if (view.getUint32(0, true) !== frameMagic) return undefined
  return {
    bodyBytes: view.getUint32(4, true),
    firstLsn: readU64(view, 8),
    recordCount: view.getUint32(16, true),
    durableLsn: readU64(view, 20),
    crc: view.getUint32(28, true),
  }
}

/** True when the whole frame is in `source` and its crc, seeded with `salt`, matches. */
export function frameIsValid(source: Uint8Array, offset: number, header: FrameHeader, salt: number): boolean {
  const end = offset + frameHeaderBytes + header.bodyBytes
  if (header.bodyBytes > frameBodyBytesMax || end > source.length) return false
  if ((header.recordCount === 0) !== (header.bodyBytes === 0)) return false
  if (header.durableLsn >= header.firstLsn) return false
  const crc = crc32(source.subarray(offset + frameHeaderBytes, end), crc32(source.subarray(offset, offset + 28), salt))
  return crc === header.crc
}

/**
 * Splits a checked frame's body into entries. Returns `undefined` if the body's record lengths
 * do not add up (only possible for a frame whose crc matched by accident or a writer bug).
 */
export function decodeFrameRecords(source: Uint8Array, offset: number, header: FrameHeader): LogEntry[] | undefined {
  const entries: LogEntry[] = []
  const end = offset + frameHeaderBytes + header.bodyBytes
  let at = offset + frameHeaderBytes
  for (let i = 0; i < header.recordCount; i++) {
    if (end - at < recordHeaderBytes) return undefined
    const type = source[at]!
    const length = (source[at + 1]! | (source[at + 2]! << 8) | (source[at + 3]! << 16) | (source[at + 4]! << 24)) >>> 0
    const start = at + recordHeaderBytes
    if (length < 0 || start + length > end) return undefined
    entries.push({ lsn: header.firstLsn + i, type, payload: source.subarray(start, start + length) })
    at = start + length
  }
  return at === end ? entries : undefined
}
