/**
 * Cursors: positioned iteration over one source (a memtable, a table, a level of tables) in one
 * direction within scan bounds. `start` and `next` return a boolean when they could answer
 * synchronously and a Promise only when a block had to be read: scans over cached blocks run
 * without per-entry promises. After `false` the cursor is exhausted.
 *
 * Invariant: a cursor yields keys strictly increasing (forward) or decreasing (reverse), all
 * within its bounds. Keys and values are subarrays of a cached block or memtable buffers: copy
 * them before handing them out.
 */
import type { Block, Table } from './table/index.js'
import { firstTableReaching } from './level-search.js'
import { latin1Key, type MemEntry, type Memtable } from './memtable.js'
import { aboveLower, type Bounds, belowUpper, compareBytes } from './types.js'

export interface Cursor {
  key: Uint8Array
  seq: number
  value: Uint8Array | undefined
  start(): boolean | Promise<boolean>
  next(): boolean | Promise<boolean>
}

const empty: Uint8Array = new Uint8Array(0)

export class MemtableCursor implements Cursor {
  key = empty
  seq = 0
  value: Uint8Array | undefined
  readonly #memtable: Memtable
  readonly #bounds: Bounds
  readonly #reverse: boolean
  #it: IterableIterator<[string, MemEntry]> | undefined

  constructor(memtable: Memtable, bounds: Bounds, reverse: boolean) {
    this.#memtable = memtable
    this.#bounds = bounds
    this.#reverse = reverse
  }

  start(): boolean {
    const b = this.#bounds
    this.#it = this.#reverse
      ? this.#memtable.entriesReversed(b.upper === undefined ? undefined : latin1Key(b.upper))
      : this.#memtable.entries(b.lower === undefined ? undefined : latin1Key(b.lower))
    return this.next()
  }

  next(): boolean {
    for (;;) {
      const r = this.#it!.next()
      if (r.done === true) return false
      const v = r.value[1]
      const k = v.key
      if (this.#reverse) {
        if (!belowUpper(this.#bounds, k)) continue
        if (!aboveLower(this.#bounds, k)) return false
      } else {
        if (!aboveLower(this.#bounds, k)) continue
        if (!belowUpper(this.#bounds, k)) return false
      }
      this.key = k
      this.seq = v.seq
      this.value = v.value
      return true
    }
  }
}

/** Bytes a cursor that bypasses the cache (compaction) reads ahead in one I/O. */
export const readaheadBytes = 256 * 1024
/** Bytes a forward scan reads ahead in one I/O on a cache miss (the blocks go to the cache). */
export const scanReadaheadBytes = 64 * 1024

export class TableCursor implements Cursor {
  key = empty
  seq = 0
  value: Uint8Array | undefined
  readonly #table: Table
  readonly #bounds: Bounds
  readonly #reverse: boolean
  readonly #fillCache: boolean
  #blockIndex = 0
  #block: Block | undefined
  #pos = 0
  /** Blocks read ahead (forward, uncached reads only), starting at block #aheadFirst. */
  #ahead: Block[] = []
  #aheadFirst = 0

  constructor(table: Table, bounds: Bounds, reverse: boolean, fillCache = true) {
    this.#table = table
    this.#bounds = bounds
    this.#reverse = reverse
    this.#fillCache = fillCache
  }

  start(): boolean | Promise<boolean> {
    const b = this.#bounds
    if (this.#reverse) {
      this.#blockIndex = b.upper === undefined ? this.#table.blockCount - 1 : this.#table.blockForReverse(b.upper)
    } else {
      this.#blockIndex = b.lower === undefined ? 0 : this.#table.blockFor(b.lower, !b.lowerInclusive)
      if (this.#blockIndex >= this.#table.blockCount) return false
    }
    const block = this.#blockAt(this.#blockIndex)
    if (block instanceof Promise) return block.then((bl) => this.#first(bl))
    return this.#first(block)
  }

  #first(block: Block): boolean | Promise<boolean> {
    this.#block = block
    const b = this.#bounds
    if (this.#reverse) {
      this.#pos = b.upper === undefined ? block.count - 1 : block.lowerBound(b.upper, b.upperInclusive) - 1
      if (this.#pos < 0) return this.#enterBlock(this.#blockIndex - 1)
    } else {
      this.#pos = b.lower === undefined ? 0 : block.lowerBound(b.lower, !b.lowerInclusive)
      if (this.#pos >= block.count) return this.#enterBlock(this.#blockIndex + 1)
    }
    return this.#load()
  }

  /**
   * Block `index`: from the read-ahead batch, else the cache, else disk. Forward cursors read
   * ahead several blocks per I/O (a scan over data larger than the cache would otherwise issue
   * one small read per block).
   */
  #blockAt(index: number): Block | Promise<Block> {
    const i = index - this.#aheadFirst
    if (i >= 0 && i < this.#ahead.length) return this.#ahead[i]!
    if (this.#reverse) return this.#table.block(index, this.#fillCache)
    if (this.#fillCache) {
      const cached = this.#table.cachedBlock(index)
      if (cached !== undefined) return cached
    }
    const bytes = this.#fillCache ? scanReadaheadBytes : readaheadBytes
    return this.#table.loadBlocks(index, bytes, this.#fillCache).then((blocks) => {
      this.#ahead = blocks
      this.#aheadFirst = index
      return blocks[0]!
    })
  }

  #enterBlock(index: number): boolean | Promise<boolean> {
    if (index < 0 || index >= this.#table.blockCount) return false
    this.#blockIndex = index
    const block = this.#blockAt(index)
    if (block instanceof Promise) {
      return block.then((bl) => {
        this.#block = bl
        this.#pos = this.#reverse ? bl.count - 1 : 0
        return this.#load()
      })
    }
    this.#block = block
    this.#pos = this.#reverse ? block.count - 1 : 0
    return this.#load()
  }

  #load(): boolean {
    const block = this.#block!
    const k = block.keyAt(this.#pos)
    if (this.#reverse ? !aboveLower(this.#bounds, k) : !belowUpper(this.#bounds, k)) return false
    this.key = k
    this.seq = block.seqAt(this.#pos)
    this.value = block.valueAt(this.#pos)
    return true
  }

  next(): boolean | Promise<boolean> {
    if (this.#reverse) {
      if (this.#pos > 0) {
        this.#pos--
        return this.#load()
      }
      return this.#enterBlock(this.#blockIndex - 1)
    }
    if (this.#pos + 1 < this.#block!.count) {
      this.#pos++
      return this.#load()
    }
    return this.#enterBlock(this.#blockIndex + 1)
  }
}

/** Iterates a sorted, non-overlapping level table after table, opening only the tables in range. */
export class LevelCursor implements Cursor {
  key = empty
  seq = 0
  value: Uint8Array | undefined
  readonly #tables: readonly Table[]
  readonly #bounds: Bounds
  readonly #reverse: boolean
  readonly #fillCache: boolean
  #index = 0
  #cursor: TableCursor | undefined

  constructor(tables: readonly Table[], bounds: Bounds, reverse: boolean, fillCache = true) {
    this.#tables = tables
    this.#bounds = bounds
    this.#reverse = reverse
    this.#fillCache = fillCache
  }

  start(): boolean | Promise<boolean> {
    const b = this.#bounds
    const t = this.#tables
    if (this.#reverse) {
      // last table whose smallest <= upper
      let i = t.length - 1
      if (b.upper !== undefined) while (i >= 0 && compareBytes(t[i]!.info.smallest, b.upper) > 0) i--
      return this.#open(i)
    }
    let i = 0
    if (b.lower !== undefined) i = firstTableReaching(t, b.lower)
    return this.#open(i)
  }

  #open(i: number): boolean | Promise<boolean> {
    if (i < 0 || i >= this.#tables.length) return false
    this.#index = i
    this.#cursor = new TableCursor(this.#tables[i]!, this.#bounds, this.#reverse, this.#fillCache)
    const r = this.#cursor.start()
    if (r instanceof Promise) return r.then((ok) => this.#settle(ok))
    return this.#settle(r)
  }

  #settle(ok: boolean): boolean | Promise<boolean> {
    if (!ok) {
      // This table had nothing left in range; the next one may (unless we passed the bound).
      const nextIndex = this.#reverse ? this.#index - 1 : this.#index + 1
      const t = this.#tables[nextIndex]
      if (t === undefined) return false
      if (this.#reverse ? !aboveLower(this.#bounds, t.info.largest) : !belowUpper(this.#bounds, t.info.smallest)) return false
      return this.#open(nextIndex)
    }
    const c = this.#cursor!
    this.key = c.key
    this.seq = c.seq
    this.value = c.value
    return true
  }

  next(): boolean | Promise<boolean> {
    const r = this.#cursor!.next()
    if (r instanceof Promise) return r.then((ok) => this.#settle(ok))
    return this.#settle(r)
  }
}
