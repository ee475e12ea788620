/**
 * The table file format (version 1). A table is immutable once published. Layout:
 *
 *   data block*      see block.ts (each with its own crc32)
 *   index block      u32 smallestLen | smallest key | u32 n | n * (u32 keyLen | last key | f64 offset | u32 length) | u32 crc32
 *   bloom block      u32 probes | filter bits | u32 crc32
 *   footer (64 B)    magic "CAIRNTBL" | u32 formatVersion | u32 flags | f64 indexOffset | u32 indexLength
 *                    | u32 bloomLength | f64 entryCount | f64 minSeq | f64 maxSeq | u32 reserved | u32 crc32
 *
 * The bloom block follows the index block, which follows the last data block. The footer has a
 * fixed size and place in every format version, so a reader can always tell an unknown version
 * (`UNSUPPORTED_FORMAT`) from damage (`CORRUPT_TABLE`).
 */
import { crc32 } from '../../io/checksum.js'
import { CairnError, CorruptionError } from '../../io/errors.js'

export const tableMagic = Buffer.from('CAIRNTBL', 'latin1')
export const tableFormatVersion = 1
export const footerBytes = 64

export interface Footer {
  indexOffset: number
  indexLength: number
  bloomLength: number
  entryCount: number
  minSeq: number
  maxSeq: number
}

export interface TableIndex {
  smallest: Uint8Array
  /** Last key of each data block, ascending. */
  lastKeys: Uint8Array[]
  offsets: Float64Array
  lengths: Uint32Array
}

export function corruptTable(file: string, offset: number, why: string): CorruptionError {
  return new CorruptionError('CORRUPT_TABLE', `table ${file} is corrupt at offset ${offset} (${why}): restore the store from a snapshot or checkpoint`, {
    context: { file, offset },
  })
}

export function encodeFooter(f: Footer): Buffer {
  const out = Buffer.alloc(footerBytes)
  tableMagic.copy(out, 0)
  out.writeUInt32LE(tableFormatVersion, 8)
  out.writeUInt32LE(0, 12)
  out.writeDoubleLE(f.indexOffset, 16)
  out.writeUInt32LE(f.indexLength, 24)
  out.writeUInt32LE(f.bloomLength, 28)
  out.writeDoubleLE(f.entryCount, 32)
  out.writeDoubleLE(f.minSeq, 40)
  out.writeDoubleLE(f.maxSeq, 48)
  out.writeUInt32LE(crc32(out.subarray(0, 60)), 60)
  return out
}

export function decodeFooter(buf: Buffer, file: string, fileBytes: number): Footer {
  const at = fileBytes - footerBytes
  if (buf.length !== footerBytes) throw corruptTable(file, at, 'file too short for a footer')
  if (!buf.subarray(0, 8).equals(tableMagic)) throw corruptTable(file, at, 'bad magic')
  if (crc32(buf.subarray(0, 60)) !== buf.readUInt32LE(60)) throw corruptTable(file, at, 'footer checksum mismatch')
  const version = buf.readUInt32LE(8)
  if (version !== tableFormatVersion) {
    throw new CairnError('UNSUPPORTED_FORMAT', `table ${file} has format version ${version}; this cairn reads version ${tableFormatVersion}: upgrade cairn`, {
      context: { file, version },
    })
  }
  const f: Footer = {
    indexOffset: buf.readDoubleLE(16),
    indexLength: buf.readUInt32LE(24),
    bloomLength: buf.readUInt32LE(28),
    entryCount: buf.readDoubleLE(32),
    minSeq: buf.readDoubleLE(40),
    maxSeq: buf.readDoubleLE(48),
  }
  if (
    !Number.isSafeInteger(f.indexOffset) ||
    f.indexOffset < 0 ||
    f.indexOffset + f.indexLength + f.bloomLength !== at
  ) {
    throw corruptTable(file, at, 'footer points outside the file')
  }
  return f
}

export function encodeIndex(index: { smallest: Uint8Array; lastKeys: Uint8Array[]; offsets: number[]; lengths: number[] }): Buffer {
  let size = 4 + index.smallest.length + 4 + 4
  for (const k of index.lastKeys) size += 16 + k.length
  const out = Buffer.allocUnsafe(size)
  let at = out.writeUInt32LE(index.smallest.length, 0)
  out.set(index.smallest, at)
  at += index.smallest.length
  at = out.writeUInt32LE(index.lastKeys.length, at)
  for (let i = 0; i < index.lastKeys.length; i++) {
    const k = index.lastKeys[i]!
    at = out.writeUInt32LE(k.length, at)
    out.set(k, at)
    at += k.length
    at = out.writeDoubleLE(index.offsets[i]!, at)
    at = out.writeUInt32LE(index.lengths[i]!, at)
  }
  out.writeUInt32LE(crc32(out.subarray(0, at)), at)
  return out
}

export function decodeIndex(buf: Buffer, file: string, offset: number): TableIndex {
  const bad = (why: string): CorruptionError => corruptTable(file, offset, `index block: ${why}`)
  if (buf.length < 12) throw bad('too short')
  if (crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) throw bad('checksum mismatch')
  const end = buf.length - 4
  let at = 0
  const need = (n: number): void => {
    if (at + n > end) throw bad('truncated')
  }
  need(4)
  const smallestLen = buf.readUInt32LE(at)
  at += 4
  need(smallestLen)
  const smallest = buf.subarray(at, at + smallestLen)
  at += smallestLen
  need(4)
  const n = buf.readUInt32LE(at)
  at += 4
  const lastKeys: Uint8Array[] = new Array(n)
  const offsets = new Float64Array(n)
  const lengths = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    need(4)
    const len = buf.readUInt32LE(at)
    at += 4
    need(len + 12)
    lastKeys[i] = buf.subarray(at, at + len)
    at += len
    offsets[i] = buf.readDoubleLE(at)
    lengths[i] = buf.readUInt32LE(at + 8)
    at += 12
  }
  return { smallest, lastKeys, offsets, lengths }
}

export function encodeBloom(bits: Uint8Array, probes: number): Buffer {
  const out = Buffer.allocUnsafe(8 + bits.length)
  out.writeUInt32LE(probes, 0)
  out.set(bits, 4)
  out.writeUInt32LE(crc32(out.subarray(0, 4 + bits.length)), 4 + bits.length)
  return out
}

export function decodeBloom(buf: Buffer, file: string, offset: number): { bits: Uint8Array; probes: number } {
  if (buf.length < 8 || crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) {
    throw corruptTable(file, offset, 'bloom filter block: checksum mismatch')
  }
  return { probes: buf.readUInt32LE(0), bits: buf.subarray(4, buf.length - 4) }
}

/** File name of table `id`: fixed width so names sort by id. */
export function tableFileName(id: number): string {
  return `${String(id).padStart(12, '0')}.sst`
}

export const tableFilePattern = /^(\d{12})\.sst$/

/** What the manifest records about one table file. */
export interface TableInfo {
  id: number
  /** File size in bytes. */
  bytes: number
  entries: number
  smallest: Uint8Array
  largest: Uint8Array
  minSeq: number
  maxSeq: number
  /**
   * Every range tombstone with seq <= tombstoneLsn has already been applied to this file's
   * entries (so such a tombstone no longer needs to be kept for this file's sake).
   */
  tombstoneLsn: number
}
