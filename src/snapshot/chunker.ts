/**
 * The canonical chunker: a sorted stream of entries cut into content-defined, entry-aligned
 * chunks. The cut rule depends only on the entries, so the same state gives the same chunks on
 * any machine whatever its history of flushes and compactions, and an unchanged key range gives
 * the same chunks as last time.
 *
 * Rule, entry by entry (sizes are canonical bytes, see canonical-entries.ts):
 * 1. if the chunk is not empty and the entry would take it past `chunkBytesMax`, cut before it;
 * 2. add the entry;
 * 3. if the chunk holds at least `chunkBytesMin`, cut after the entry when its key hash, read as
 *    a fraction of 2^32, is below `entryBytes / (chunkBytesTarget - chunkBytesMin)`: the low bits
 *    of `keyHash * span` are "zero" with a probability proportional to the entry's size, so the
 *    expected chunk is `chunkBytesTarget` whatever the entry sizes (a fixed bit count would be
 *    right for one entry size only).
 * An entry bigger than `chunkBytesMax` is a chunk on its own.
 *
 * The source's buffers may be reused by the next step of its iterator: every entry is copied
 * into the chunk's bytes before the iterator is advanced.
 */
import { sha256Hex } from '../io/checksum.js'
import { assert } from '../io/assert.js'
import { entryBytes, writeEntry } from './canonical-entries.js'
import { keyHash } from './key-hash.js'
import { keyBytesMax } from '../partition/index.js'
import { chunkBytesMax, chunkBytesMin, chunkBytesTarget } from './snapshot-limits.js'

/** One canonical chunk: its id (SHA-256 hex of `bytes`), bytes and entry count. */
export interface CanonicalChunk {
  id: string
  bytes: Uint8Array
  entries: number
}

const boundarySpanBytes = chunkBytesTarget - chunkBytesMin
const twoTo32 = 2 ** 32

/** Whether a content-defined boundary follows this entry (rule 3, without the minimum). */
export function isBoundaryKey(key: Uint8Array, bytes: number): boolean {
  return keyHash(key) * boundarySpanBytes < bytes * twoTo32
}

/**
 * The chunker as a push API (no async step per entry: the hot loop of `create`): `add` each entry
 * in order and take the chunks it completes, then `finish` for the last one.
 *
 * @example
 * const builder = new ChunkBuilder()
 * for await (const [k, v] of snap.scan()) for (const c of builder.add(k, v) ?? []) await upload(c)
 * const last = builder.finish(); if (last) await upload(last)
 */
export class ChunkBuilder {
  readonly #scratch = new Uint8Array(chunkBytesMax)
  #used = 0
  #count = 0
  // The previous key, copied (the source may reuse its buffer): checks the order.
  readonly #previous = new Uint8Array(keyBytesMax)
  #previousLength = -1

  /** Adds one entry; returns the chunks it completes (usually none: undefined). */
  add(key: Uint8Array, value: Uint8Array): CanonicalChunk[] | undefined {
    assert(key.length > 0 && key.length <= keyBytesMax, 'snapshot keys are 1 to keyBytesMax bytes')
    assert(this.#isAfterPrevious(key), 'snapshot entries must come in strictly ascending key order')
    this.#previous.set(key)
    this.#previousLength = key.length
    const size = entryBytes(key, value)
    let done: CanonicalChunk[] | undefined
    if (this.#count > 0 && this.#used + size > chunkBytesMax) done = [this.#cut()]
    if (size > chunkBytesMax) {
      const bytes = new Uint8Array(size)
      writeEntry(bytes, 0, key, value)
      const own = { id: sha256Hex(bytes), bytes, entries: 1 }
      return done === undefined ? [own] : [...done, own]
    }
    this.#used = writeEntry(this.#scratch, this.#used, key, value)
    this.#count++
    if (this.#used >= chunkBytesMin && isBoundaryKey(key, size)) {
      if (done === undefined) done = [this.#cut()]
      else done.push(this.#cut())
    }
    return done
  }

  /** The last chunk, if entries are left. */
  finish(): CanonicalChunk | undefined {
    return this.#count > 0 ? this.#cut() : undefined
  }

  /** Bytewise `previous < key`, by hand: Buffer.compare's argument checks cost more than this. */
  #isAfterPrevious(key: Uint8Array): boolean {
    const previous = this.#previous
    const n = this.#previousLength
    if (n < 0) return true
    const common = Math.min(n, key.length)
    for (let i = 0; i < common; i++) {
      const a = previous[i]!
      const b = key[i]!
      if (a !== b) return a < b
    }
    return n < key.length
  }

  #cut(): CanonicalChunk {
    const bytes = this.#scratch.slice(0, this.#used)
    const chunk = { id: sha256Hex(bytes), bytes, entries: this.#count }
    this.#used = 0
    this.#count = 0
    return chunk
  }
}

/**
 * Chunks of a sorted stream of entries (strictly ascending keys, as a scan yields them).
 *
 * @example
 * for await (const chunk of canonicalChunks(snap.scan())) console.log(chunk.id, chunk.entries)
 */
export async function* canonicalChunks(entries: AsyncIterable<readonly [Uint8Array, Uint8Array]> | Iterable<readonly [Uint8Array, Uint8Array]>): AsyncGenerator<CanonicalChunk> {
  const builder = new ChunkBuilder()
  for await (const [key, value] of entries) {
    const done = builder.add(key, value)
    if (done !== undefined) yield* done
  }
  const last = builder.finish()
  if (last !== undefined) yield last
}
