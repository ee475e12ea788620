/**
 * Checksums: crc32 (zlib's, hardware-accelerated where available) for frames and blocks;
 * sha256 for content addressing. Every byte read back is checked against one of these.
 */
import { createHash } from 'node:crypto'
import zlib from 'node:zlib'

const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32

if (typeof zlibCrc32 !== 'function') {
  throw new Error('cairn needs zlib.crc32: run it on Node.js >= 20.15')
}

/** crc32 of `data`, continuing from `initial` (so a checksum can span several buffers). */
export function crc32(data: Uint8Array, initial = 0): number {
  return zlibCrc32!(data, initial) >>> 0
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}
