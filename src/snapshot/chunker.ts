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
 * Chunks of a sorted stream of entries (strictly ascending keys, as a scan yields them).
 *
 * @example
 * for await (const chunk of canonicalChunks(snap.scan())) console.log(chunk.id, chunk.entries)
 */
export async function* canonicalChunks(entries: AsyncIterable<readonly [Uint8Array, Uint8Array]> | Iterable<readonly [Uint8Array, Uint8Array]>): AsyncGenerator<CanonicalChunk> {
  const scratch = new Uint8Array(chunkBytesMax)
  let used = 0
  let count = 0
  // The previous key, copied (the source may reuse its buffer): checks the order.
  const previous = new Uint8Array(keyBytesMax)
  let previousLength = -1
  const cut = (): CanonicalChunk => {
    const bytes = scratch.slice(0, used)
    const chunk = { id: sha256Hex(bytes), bytes, entries: count }
    used = 0
    count = 0
    return chunk
  }
  for await (const [key, value] of entries) {
    assert(key.length > 0 && key.length <= keyBytesMax, 'snapshot keys are 1 to keyBytesMax bytes')
    assert(previousLength < 0 || Buffer.compare(previous.subarray(0, previousLength), key) < 0, 'snapshot entries must come in strictly ascending key order')
    previous.set(key)
    previousLength = key.length
    const size = entryBytes(key, value)
    if (count > 0 && used + size > chunkBytesMax) yield cut()
    if (size > chunkBytesMax) {
      const bytes = new Uint8Array(size)
      writeEntry(bytes, 0, key, value)
      yield { id: sha256Hex(bytes), bytes, entries: 1 }
      continue
    }
    used = writeEntry(scratch, used, key, value)
    count++
    if (used >= chunkBytesMin && isBoundaryKey(key, size)) yield cut()
  }
  if (count > 0) yield cut()
}
