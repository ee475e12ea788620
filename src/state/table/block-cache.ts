/**
 * LRU cache of decoded, verified data blocks, shared by all tables of a tree, or of many trees
 * (the store's one cache for all partitions).
 * Invariants: a key names one block of one open table: each table opened on the cache takes a
 * number of its own from `register()` (table ids repeat across trees and across reopens, these
 * numbers never do), and a table drops its blocks (`evictTable`) when it is released (deleted
 * or its tree closed), so a closed partition's blocks do not linger. The sum of the charges of cached blocks stays <= `capacityBytes` (a block larger
 * than the whole cache is simply not cached). A Map keeps insertion order, so re-inserting on a
 * hit makes it the most recent and the first key is the least recently used.
 *
 * A hit re-inserts only a block in the older half of the order (more than half the cache's
 * entries were inserted since it was): a Map delete + set per hit was a fifth of a cached point
 * read, and a block hit while in the newer half is far from eviction anyway.
 *
 * Admission (`admits`, asked by point lookups before they read a block): while the cache has
 * room every block is admitted; once it is full, a block is admitted on its second miss within
 * a window of recent misses (a "doorkeeper", as TinyLFU puts in front of its cache). A working
 * set larger than the cache would otherwise evict a block on nearly every lookup, and the
 * allocation of a fresh buffer for each (page faults on new memory) cost more than the read
 * itself; a block read twice in the window is worth keeping, one read once is not.
 */
import { assert } from '../../io/assert.js'
import type { Block } from './block.js'

/** Per-entry bookkeeping cost added to a block's byte length. */
const entryOverheadBytes = 96
/** Blocks a table may have (a key is `register() * tableBlockCountMax + blockIndex`). */
export const tableBlockCountMax = 0x1000000
/** Misses the doorkeeper remembers at least, however few blocks the cache holds. */
const ghostEntriesMin = 256
/** Misses the doorkeeper remembers at most (8 bytes each: 512 KiB). */
export const ghostEntriesMax = 65_536
/** Block size the doorkeeper's window is sized for: about as many misses as the cache holds blocks. */
const ghostBlockBytesAssumed = 4096
/** Tables that may ever be registered on one cache: keys stay exact (safe) integers. */
const registrationsMax = Math.floor(Number.MAX_SAFE_INTEGER / tableBlockCountMax)

export class BlockCache {
  readonly capacityBytes: number
  #bytes = 0
  #map = new Map<number, Block>()
  /** Counts insertions into the map (sets and re-inserts), to tell a block's age in the order. */
  #clock = 0
  /** Keys of blocks missed once and not admitted (the doorkeeper's window; -1 is an empty slot). */
  readonly #ghosts: Float64Array
  hits = 0
  misses = 0

  #registered = 0

  /**
   * @example
   * const cache = new BlockCache(256 * 1024 * 1024)
   * const a = await LsmTree.open({ fs, dir: '/s/p1/state', blockCache: cache })
   * const b = await LsmTree.open({ fs, dir: '/s/p2/state', blockCache: cache })
   */
  constructor(capacityBytes: number) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes >= 0, 'block cache capacity is a non-negative integer')
    this.capacityBytes = capacityBytes
    const slots = Math.min(ghostEntriesMax, Math.max(ghostEntriesMin, Math.ceil(capacityBytes / (ghostBlockBytesAssumed + entryOverheadBytes))))
    this.#ghosts = new Float64Array(slots).fill(-1)
  }

  /** A number no other table on this cache has or had: the base of its blocks' keys (`keyOf`). */
  register(): number {
    assert(this.#registered < registrationsMax, 'block cache registrations stay below registrationsMax')
    return ++this.#registered
  }

  /** Cache key of block `blockIndex` of the table registered as `tableNumber`. */
  static keyOf(tableNumber: number, blockIndex: number): number {
    return tableNumber * tableBlockCountMax + blockIndex
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

  /**
   * Whether a block of `byteLength` bytes under `key`, just missed, should be cached when read:
   * always while it fits without an eviction, else only on its second miss in the window.
   */
  admits(key: number, byteLength: number): boolean {
    if (this.#bytes + byteLength + entryOverheadBytes <= this.capacityBytes) return true
    // Direct-mapped: a slot remembers the last key missed there, so a later miss of another
    // key that maps to it forgets the first (the window is approximate, the cost one lookup).
    const slot = (Math.imul((key >>> 0) ^ Math.floor(key / 0x100000000), 0x9e3779b1) >>> 0) % this.#ghosts.length
    if (this.#ghosts[slot] === key) {
      this.#ghosts[slot] = -1
      return true
    }
    this.#ghosts[slot] = key
    return false
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
  evictTable(tableNumber: number, blockCount: number): void {
    for (let i = 0; i < blockCount; i++) {
      const key = BlockCache.keyOf(tableNumber, i)
      const block = this.#map.get(key)
      if (block !== undefined) {
        this.#map.delete(key)
        this.#bytes -= block.buf.byteLength + entryOverheadBytes
      }
    }
  }
}
