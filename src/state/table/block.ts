/**
 * Data blocks of a table file. Layout (all integers little-endian):
 *
 *   entry*            u32 keyLen | u32 valueLen (0xFFFFFFFF = tombstone) | f64 seq | key | value
 *   u32 offset * n    where each entry starts, for binary search inside the block
 *   u32 n
 *   u32 crc32         of every byte of the block before it
 *
 * Invariants: entries are in strictly increasing key order; a block is trusted only after its
 * crc matched (`decodeBlock`), so offsets read from it are in bounds.
 */
import { assert } from '../../io/assert.js'
import { crc32 } from '../../io/checksum.js'
import { CorruptionError } from '../../io/errors.js'
import { compareBytes } from '../types.js'

export const entryHeaderBytes = 16
export const tombstoneLength = 0xffffffff

/** Accumulates entries of one block; `finish` returns its encoded bytes. */
export class BlockBuilder {
  #buf: Buffer
  #view: DataView
  #length = 0
  #offsets: number[] = []

  constructor(capacityBytes: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(256, capacityBytes))
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength)
  }

  get count(): number {
    return this.#offsets.length
  }

  /** Bytes the block will take once finished. */
  get estimatedBytes(): number {
    return this.#length + 4 * this.#offsets.length + 8
  }

  #ensure(extra: number): void {
    const need = this.#length + extra
    if (need <= this.#buf.length) return
    const next = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2))
    this.#buf.copy(next, 0, 0, this.#length)
    this.#buf = next
    this.#view = new DataView(next.buffer, next.byteOffset, next.byteLength)
  }

  add(key: Uint8Array, seq: number, value: Uint8Array | undefined): void {
    const valueBytes = value === undefined ? 0 : value.length
    this.#ensure(entryHeaderBytes + key.length + valueBytes)
    const at = this.#length
    this.#offsets.push(at)
    this.#view.setUint32(at, key.length, true)
    this.#view.setUint32(at + 4, value === undefined ? tombstoneLength : value.length, true)
    this.#view.setFloat64(at + 8, seq, true)
    this.#buf.set(key, at + entryHeaderBytes)
    if (value !== undefined) this.#buf.set(value, at + entryHeaderBytes + key.length)
    this.#length = at + entryHeaderBytes + key.length + valueBytes
  }

  /** The encoded block (a fresh buffer); the builder is reset for the next block. */
  finish(): Buffer {
    const n = this.#offsets.length
    assert(n > 0, 'a block holds at least one entry')
    const total = this.#length + 4 * n + 8
    const out = Buffer.allocUnsafe(total)
    this.#buf.copy(out, 0, 0, this.#length)
    let at = this.#length
    for (const o of this.#offsets) {
      out.writeUInt32LE(o, at)
      at += 4
    }
    out.writeUInt32LE(n, at)
    out.writeUInt32LE(crc32(out.subarray(0, at + 4)), at + 4)
    this.#length = 0
    this.#offsets = []
    return out
  }
}

/** A decoded, verified block. Keys and values handed out are subarrays of its buffer: copy them before giving them to a user. */
export class Block {
  readonly buf: Uint8Array
  readonly count: number
  readonly #view: DataView
  readonly #offsetsAt: number
  readonly #arrayBuffer: ArrayBufferLike
  readonly #base: number
  /** The block cache's insertion clock when it last (re)inserted this block (see BlockCache.get). */
  cacheStamp = 0

  constructor(buf: Uint8Array, count: number, offsetsAt: number) {
    // A plain Uint8Array view: subarray on it is much cheaper than on a Buffer.
    this.buf = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    this.count = count
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.#offsetsAt = offsetsAt
    this.#arrayBuffer = buf.buffer
    this.#base = buf.byteOffset
  }

  offsetOf(i: number): number {
    return this.#view.getUint32(this.#offsetsAt + 4 * i, true)
  }

  keyAt(i: number): Uint8Array {
    const o = this.offsetOf(i)
    const keyLen = this.#view.getUint32(o, true)
    // A view by constructor: measured well under the cost of subarray (a scan makes two per entry).
    return new Uint8Array(this.#arrayBuffer, this.#base + o + entryHeaderBytes, keyLen)
  }

  seqAt(i: number): number {
    return this.#view.getFloat64(this.offsetOf(i) + 8, true)
  }

  /** The value at `i`, or undefined for a tombstone. */
  valueAt(i: number): Uint8Array | undefined {
    const o = this.offsetOf(i)
    const keyLen = this.#view.getUint32(o, true)
    const valueLen = this.#view.getUint32(o + 4, true)
    if (valueLen === tombstoneLength) return undefined
    return new Uint8Array(this.#arrayBuffer, this.#base + o + entryHeaderBytes + keyLen, valueLen)
  }

  /**
   * compareBytes(keyAt(i), key) without making a subarray: a point read compares about a dozen
   * keys per block, and the garbage of one view per compare showed up as GC time.
   */
  compareKeyAt(i: number, key: Uint8Array): number {
    const o = this.offsetOf(i)
    const keyLen = this.#view.getUint32(o, true)
    const n = Math.min(keyLen, key.length)
    if (n > 64) return compareBytes(this.keyAt(i), key)
    const buf = this.buf
    const start = o + entryHeaderBytes
    for (let j = 0; j < n; j++) {
      const d = buf[start + j]! - key[j]!
      if (d !== 0) return d < 0 ? -1 : 1
    }
    return keyLen === key.length ? 0 : keyLen < key.length ? -1 : 1
  }

  /** Index of the first entry with key >= `key` (or > when `exclusive`); `count` if none. */
  lowerBound(key: Uint8Array, exclusive = false): number {
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = this.compareKeyAt(mid, key)
      if (c < 0 || (exclusive && c === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Index of the entry equal to `key`, or -1. */
  find(key: Uint8Array): number {
    const i = this.lowerBound(key)
    return i < this.count && this.compareKeyAt(i, key) === 0 ? i : -1
  }
}

/** The little-endian u32 at `at` (no DataView: a decode makes none of its own). */
function readUint32LE(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0
}

/** Verifies and decodes one block read from `file` at `offset`. */
export function decodeBlock(buf: Uint8Array, file: string, offset: number): Block {
  const length = buf.length
  if (length < 8) throw corruptBlock(file, offset, 'too short')
  if (crc32(buf.subarray(0, length - 4)) !== readUint32LE(buf, length - 4)) throw corruptBlock(file, offset, 'checksum mismatch')
  const n = readUint32LE(buf, length - 8)
  const offsetsAt = length - 8 - 4 * n
  if (n === 0 || offsetsAt < 0) throw corruptBlock(file, offset, 'bad entry count')
  return new Block(buf, n, offsetsAt)
}

function corruptBlock(file: string, offset: number, why: string): CorruptionError {
  return new CorruptionError('CORRUPT_TABLE', `table ${file}: data block at offset ${offset} is corrupt (${why})`, { context: { file, offset } })
}
