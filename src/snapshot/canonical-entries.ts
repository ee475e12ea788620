/**
 * The canonical bytes of a run of entries, the unit snapshot chunks are made of. For each entry,
 * in key order: varint(key length), key, varint(value length), value, with unsigned LEB128
 * varints (7 bits a byte, low group first, high bit = more follows; the shortest form only).
 * Nothing else: no header, no padding, so the bytes are the same on any machine and a chunk's
 * SHA-256 names its content.
 *
 * Decoding is strict: a non-shortest varint, a length past the end, an empty key, keys out of
 * order or trailing bytes are damage (`CORRUPT_SNAPSHOT`), never a guess.
 */
import { CorruptionError } from '../io/errors.js'

/** Bytes `n` takes as a varint. */
export function varintBytes(n: number): number {
  let bytes = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    bytes++
  }
  return bytes
}

/** Canonical bytes of one entry. */
export function entryBytes(key: Uint8Array, value: Uint8Array): number {
  return varintBytes(key.length) + key.length + varintBytes(value.length) + value.length
}

/** Writes `n` at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  out[at++] = n
  return at
}

/** Writes one entry at `at`; returns the offset after it. */
export function writeEntry(out: Uint8Array, at: number, key: Uint8Array, value: Uint8Array): number {
  at = writeVarint(out, at, key.length)
  out.set(key, at)
  at += key.length
  at = writeVarint(out, at, value.length)
  out.set(value, at)
  return at + value.length
}

/**
 * The entries of canonical chunk bytes, as views into `bytes` (copy what you keep past `bytes`).
 * `where` names the object in errors.
 *
 * @example
 * for (const [k, v] of decodeEntries(chunkBytes, 'chunks/ab/ab12...')) console.log(k, v)
 */
export function decodeEntries(bytes: Uint8Array, where: string): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = []
  let at = 0
  let previous: Uint8Array | undefined
  const varint = (): number => {
    let n = 0
    let scale = 1
    for (let i = 0; i < 5; i++) {
      if (at >= bytes.length) throw damaged(where, 'a length runs past the end of the chunk')
      const b = bytes[at++]!
      n += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw damaged(where, 'a length is not in its shortest form')
        return n
      }
      scale *= 128
    }
    throw damaged(where, 'a length is longer than 5 bytes')
  }
  while (at < bytes.length) {
    const keyLength = varint()
    if (keyLength === 0) throw damaged(where, 'an entry has an empty key')
    if (at + keyLength > bytes.length) throw damaged(where, 'a key runs past the end of the chunk')
    const key = bytes.subarray(at, at + keyLength)
    at += keyLength
    const valueLength = varint()
    if (at + valueLength > bytes.length) throw damaged(where, 'a value runs past the end of the chunk')
    const value = bytes.subarray(at, at + valueLength)
    at += valueLength
    if (previous !== undefined && Buffer.compare(previous, key) >= 0) throw damaged(where, 'keys are not in ascending order')
    previous = key
    out.push([key, value])
  }
  return out
}

function damaged(where: string, what: string): CorruptionError {
  return new CorruptionError('CORRUPT_SNAPSHOT', `snapshot object ${where} is damaged (${what}): run cairn snapshot verify, then restore from another snapshot`, {
    context: { key: where },
  })
}
