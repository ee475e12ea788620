/**
 * LRU cache of decoded, verified data blocks, shared by all tables of a tree.
 * Invariant: the sum of the charges of cached blocks stays <= `capacityBytes` (a block larger
 * than the whole cache is simply not cached). A Map keeps insertion order, so re-inserting on a
 * hit makes it the most recent and the first key is the least recently used.
 *
 * A hit re-inserts only a block in the older half of the order (more than half the cache's
 * entries were inserted since it was): a Map delete + set per hit was a fifth of a cached point
 * read, and a block hit while in the newer half is far from eviction anyway.
 */
import type { Block } from './block.js'

/** Per-entry bookkeeping cost added to a block's byte length. */
const entryOverheadBytes = 96

export class BlockCache {
  readonly capacityBytes: number
  #bytes = 0
  #map = new Map<number, Block>()
  /** Counts insertions into the map (sets and re-inserts), to tell a block's age in the order. */
  #clock = 0
  hits = 0
  misses = 0

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes
  }

  /** Cache key of block `blockIndex` of table `tableId`. */
  static keyOf(tableId: number, blockIndex: number): number {
    return tableId * 0x1000000 + blockIndex
  }

  get bytes(): number {
    return this.#bytes
  }

  get(key: number): Block | undefined {
    const block = this.#map.get(key)
    if (block === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    if (this.#clock - block.cacheStamp > this.#map.size >>> 1) {
      this.#map.delete(key)
      this.#map.set(key, block)
      block.cacheStamp = ++this.#clock
    }
    return block
  }

  set(key: number, block: Block): void {
    const charge = block.buf.byteLength + entryOverheadBytes
    if (charge > this.capacityBytes) return
    const old = this.#map.get(key)
    if (old !== undefined) {
      this.#map.delete(key)
      this.#bytes -= old.buf.byteLength + entryOverheadBytes
    }
    this.#map.set(key, block)
    block.cacheStamp = ++this.#clock
    this.#bytes += charge
    while (this.#bytes > this.capacityBytes) {
      const first = this.#map.keys().next()
      if (first.done === true) break
      const evicted = this.#map.get(first.value)!
      this.#map.delete(first.value)
      this.#bytes -= evicted.buf.byteLength + entryOverheadBytes
    }
  }

  /** Drops every block of a table (when its file is released). */
  evictTable(tableId: number, blockCount: number): void {
    for (let i = 0; i < blockCount; i++) {
      const key = BlockCache.keyOf(tableId, i)
      const block = this.#map.get(key)
      if (block !== undefined) {
        this.#map.delete(key)
        this.#bytes -= block.buf.byteLength + entryOverheadBytes
      }
    }
  }
}
