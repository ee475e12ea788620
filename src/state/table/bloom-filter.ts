/**
 * Bloom filter over a table's keys, so a point read skips tables that cannot hold the key.
 * Invariants: no false negatives (every added key answers true); about 1% false positives at
 * `bloomBitsPerKey` = 10. Probes use double hashing from one 32-bit hash (as LevelDB does).
 */

export const bloomBitsPerKey = 10

/** The hash the filter's probes derive from (part of the table format: see io/key-hash32.ts). */
export { keyHash32 as hashKey } from '../../io/key-hash32.js'

export function probeCount(bitsPerKey: number): number {
  return Math.max(1, Math.min(30, Math.round(bitsPerKey * 0.69)))
}

/** Builds the filter bits for the given key hashes. */
export function buildBloom(hashes: Uint32Array, count: number, bitsPerKey = bloomBitsPerKey): { bits: Uint8Array; probes: number } {
  const probes = probeCount(bitsPerKey)
  const bitCount = Math.max(64, count * bitsPerKey)
  const bits = new Uint8Array(Math.ceil(bitCount / 8))
  const nBits = bits.length * 8
  for (let i = 0; i < count; i++) {
    let h = hashes[i]!
    const delta = ((h >>> 17) | (h << 15)) >>> 0
    for (let j = 0; j < probes; j++) {
      const bit = h % nBits
      bits[bit >>> 3]! |= 1 << (bit & 7)
      h = (h + delta) >>> 0
    }
  }
  return { bits, probes }
}

export class BloomFilter {
  readonly #bits: Uint8Array
  readonly #probes: number
  readonly #nBits: number

  constructor(bits: Uint8Array, probes: number) {
    this.#bits = bits
    this.#probes = probes
    this.#nBits = bits.length * 8
  }

  get bytes(): number {
    return this.#bits.length
  }

  mayContain(hash: number): boolean {
    if (this.#nBits === 0) return true
    let h = hash
    const delta = ((h >>> 17) | (h << 15)) >>> 0
    for (let j = 0; j < this.#probes; j++) {
      const bit = h % this.#nBits
      if ((this.#bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false
      h = (h + delta) >>> 0
    }
    return true
  }
}
