/**
 * An open, immutable table file: footer, block index and bloom filter in memory; data blocks read
 * on demand through the FileHandle (never the whole file) and kept in the shared block cache.
 * Invariants: every byte read is checked (footer, index and bloom at open; each data block on
 * load) and damage is a `CORRUPT_TABLE` naming file and offset. `refs` counts the versions (and
 * direct pins) holding this table; when it drops to zero the owner may delete the file.
 * `close()` waits for reads in flight (up to `closeReadWaitMsMax`) before it closes the handle,
 * so a read never lands on a descriptor number the OS has given to another file; reads after
 * `close()` fail with `CLOSED`.
 */
import { assert } from '../../io/assert.js'
import { CairnError } from '../../io/errors.js'
import type { FileHandle, FileSystem } from '../../io/file-system.js'
import { type Block, decodeBlock } from './block.js'
import { BlockCache, tableBlockCountMax } from './block-cache.js'
import { BloomFilter } from './bloom-filter.js'
import { noteSyncRead, syncReadAllowed } from './sync-read-budget.js'
import {
  corruptTable,
  decodeBloom,
  decodeFooter,
  decodeIndex,
  footerBytes,
  type TableIndex,
  type TableInfo,
} from './table-format.js'
import { compareBytes, copyBytes } from '../types.js'

/** Longest `close()` waits for reads in flight before it closes the handle anyway (a hung disk must not hang shutdown). */
export const closeReadWaitMsMax = 5000

/** Largest block a point lookup reads into the shared scratch buffer (larger ones get their own). */
export const scratchBytesMax = 256 * 1024
let scratch = new Uint8Array(0)

/**
 * The shared buffer a point lookup reads a block into when the cache does not admit it: reused,
 * because a fresh buffer per read (new memory, page faults) cost more than the read itself.
 * Valid until the next `scratchOf`: every lookup on it is synchronous and copies what it returns.
 */
function scratchOf(length: number): Uint8Array {
  assert(length <= scratchBytesMax, 'scratch reads stay within scratchBytesMax')
  // A plain Uint8Array: its subarray is far cheaper than a Buffer's.
  if (scratch.length < length) scratch = new Uint8Array(Math.max(length, 8 * 1024))
  return scratch.subarray(0, length)
}

export class Table {
  readonly info: TableInfo
  readonly path: string
  readonly #handle: FileHandle
  readonly #index: TableIndex
  readonly #bloom: BloomFilter
  readonly #cache: BlockCache
  /** This table's number on the cache (see BlockCache.register): its blocks' keys start at keyBase. */
  readonly #cacheNumber: number
  readonly #keyBase: number
  refs = 0
  #closed = false
  /** Reads in flight on the handle, and who waits for them to end. */
  #reading = 0
  #onReadsDone: (() => void) | undefined

  private constructor(info: TableInfo, path: string, handle: FileHandle, index: TableIndex, bloom: BloomFilter, cache: BlockCache) {
    this.info = info
    this.path = path
    this.#handle = handle
    this.#index = index
    this.#bloom = bloom
    this.#cache = cache
    assert(index.lastKeys.length <= tableBlockCountMax, 'a table has at most tableBlockCountMax blocks (its cache keys stay apart)')
    this.#cacheNumber = cache.register()
    this.#keyBase = BlockCache.keyOf(this.#cacheNumber, 0)
  }

  get id(): number {
    return this.info.id
  }

  get blockCount(): number {
    return this.#index.lastKeys.length
  }

  /** Bytes kept in memory for this table (index keys and bloom bits). */
  get memoryBytes(): number {
    let n = this.#bloom.bytes
    for (const k of this.#index.lastKeys) n += k.length + 48
    return n
  }

  /** Opens and verifies a table. `info` is what the manifest says about it (checked against the file). */
  static async open(fs: FileSystem, path: string, info: TableInfo, cache: BlockCache): Promise<Table> {
    let handle: FileHandle
    try {
      handle = await fs.open(path, 'read')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw corruptTable(path, 0, 'the manifest lists it but the file is missing')
      throw e
    }
    try {
      const size = await handle.size()
      if (size !== info.bytes) throw corruptTable(path, 0, `size is ${size} bytes, the manifest says ${info.bytes}`)
      if (size < footerBytes) throw corruptTable(path, 0, 'file too short for a footer')
      const footerBuf = Buffer.allocUnsafe(footerBytes)
      await readFully(handle, footerBuf, size - footerBytes, path)
      const footer = decodeFooter(footerBuf, path, size)
      const meta = Buffer.allocUnsafe(footer.indexLength + footer.bloomLength)
      await readFully(handle, meta, footer.indexOffset, path)
      const index = decodeIndex(meta.subarray(0, footer.indexLength), path, footer.indexOffset)
      const bloomBits = decodeBloom(meta.subarray(footer.indexLength), path, footer.indexOffset + footer.indexLength)
      if (
        footer.entryCount !== info.entries ||
        index.lastKeys.length === 0 ||
        index.lastKeys.length > tableBlockCountMax ||
        compareBytes(index.smallest, info.smallest) !== 0 ||
        compareBytes(index.lastKeys[index.lastKeys.length - 1]!, info.largest) !== 0
      ) {
        throw corruptTable(path, footer.indexOffset, 'contents disagree with the manifest')
      }
      // Copy so the large read buffer is not retained by subarrays.
      const ownIndex: TableIndex = {
        smallest: copyBytes(index.smallest),
        lastKeys: index.lastKeys.map(copyBytes),
        offsets: index.offsets,
        lengths: index.lengths,
      }
      return new Table(info, path, handle, ownIndex, new BloomFilter(copyBytes(bloomBits.bits), bloomBits.probes), cache)
    } catch (e) {
      await handle.close().catch(() => undefined)
      throw e
    }
  }

  /** False when the table surely does not hold the key (hash from `hashKey`). */
  mayContain(key: Uint8Array, hash: number): boolean {
    if (compareBytes(key, this.info.smallest) < 0 || compareBytes(key, this.info.largest) > 0) return false
    return this.#bloom.mayContain(hash)
  }

  /** Index of the first block whose last key is >= key (or > key when `exclusive`); blockCount when none. */
  blockFor(key: Uint8Array, exclusive = false): number {
    const keys = this.#index.lastKeys
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = compareBytes(keys[mid]!, key)
      if (c < 0 || (exclusive && c === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * Where a reverse scan from `key` starts: the greatest entry <= key is in the first block whose
   * last key is >= key (or in the block before it), or in the last block when key is beyond.
   */
  blockForReverse(key: Uint8Array): number {
    return Math.min(this.blockFor(key), this.blockCount - 1)
  }

  cachedBlock(i: number): Block | undefined {
    return this.#cache.get(this.#keyBase + i)
  }

  /** Whether the cache takes block `i`, just missed by a point lookup (see `BlockCache.admits`). */
  admits(i: number): boolean {
    return this.#cache.admits(this.#keyBase + i, this.#index.lengths[i]!)
  }

  /** Reads and verifies block `i`; caches it unless `fillCache` is false (compaction reads). */
  async loadBlock(i: number, fillCache = true): Promise<Block> {
    assert(i >= 0 && i < this.blockCount, 'block index in range')
    const offset = this.#index.offsets[i]!
    const length = this.#index.lengths[i]!
    const buf = Buffer.allocUnsafe(length)
    await this.#read(buf, offset)
    const block = decodeBlock(buf, this.path, offset)
    // Not after close: the table's blocks were evicted then, and must stay out.
    if (fillCache && !this.#closed) this.#cache.set(this.#keyBase + i, block)
    return block
  }

  /**
   * Block `i` read with a blocking read (for a point lookup, see sync-read-budget.ts), verified,
   * and cached when the cache admits it (`BlockCache.admits`); undefined when it cannot be read
   * that way now (the file system has no blocking read, the budget says the disk is cold, the
   * table is closed: the caller reads it async). A block not admitted lives in the shared
   * scratch buffer: use it before the next call and copy what you keep. A failed read or a
   * damaged block throws, as `loadBlock` rejects.
   */
  loadBlockSync(i: number): Block | undefined {
    assert(i >= 0 && i < this.blockCount, 'block index in range')
    const handle = this.#handle
    if (this.#closed || handle.readSync === undefined) return undefined
    const start = performance.now()
    if (!syncReadAllowed(start)) return undefined
    const offset = this.#index.offsets[i]!
    const length = this.#index.lengths[i]!
    const key = this.#keyBase + i
    const admitted = this.#cache.admits(key, length) || length > scratchBytesMax
    const buf = admitted ? Buffer.allocUnsafe(length) : scratchOf(length)
    const n = handle.readSync(buf, 0, length, offset)
    noteSyncRead(start, performance.now())
    if (n !== length) throw corruptTable(this.path, offset, `short read: ${n} of ${length} bytes`)
    const block = decodeBlock(buf, this.path, offset)
    if (admitted) this.#cache.set(key, block)
    return block
  }

  /**
   * Reads blocks first.. in one I/O, as many as fit in `bytesMax` (at least one): sequential
   * readers issue one read per chunk instead of per block. With `fillCache`, each block is
   * copied into its own buffer before it is cached, so a cached block never keeps the whole
   * chunk alive (the cache's byte bound stays true).
   */
  async loadBlocks(first: number, bytesMax: number, fillCache = false): Promise<Block[]> {
    assert(first >= 0 && first < this.blockCount, 'block index in range')
    const offsets = this.#index.offsets
    const lengths = this.#index.lengths
    let last = first
    let total = lengths[first]!
    while (last + 1 < this.blockCount && total + lengths[last + 1]! <= bytesMax) {
      last++
      total += lengths[last]!
    }
    const start = offsets[first]!
    const buf = Buffer.allocUnsafe(offsets[last]! + lengths[last]! - start)
    await this.#read(buf, start)
    const blocks: Block[] = []
    for (let i = first; i <= last; i++) {
      const at = offsets[i]! - start
      const bytes = buf.subarray(at, at + lengths[i]!)
      const block = decodeBlock(fillCache ? copyBytes(bytes) : bytes, this.path, offsets[i]!)
      if (fillCache && !this.#closed) this.#cache.set(this.#keyBase + i, block)
      blocks.push(block)
    }
    return blocks
  }

  /** The block, from cache or disk. */
  block(i: number, fillCache = true): Block | Promise<Block> {
    if (fillCache) {
      const b = this.cachedBlock(i)
      if (b !== undefined) return b
    }
    return this.loadBlock(i, fillCache)
  }

  /** Reads through the handle, counted so that `close()` can wait for it. */
  async #read(buf: Uint8Array, position: number): Promise<void> {
    if (this.#closed) throw new CairnError('CLOSED', `table ${this.path} is closed: the state it belongs to was closed`)
    this.#reading++
    try {
      await readFully(this.#handle, buf, position, this.path)
    } finally {
      if (--this.#reading === 0) this.#onReadsDone?.()
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#cache.evictTable(this.#cacheNumber, this.blockCount)
    if (this.#reading > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        new Promise<void>((resolve) => (this.#onReadsDone = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, closeReadWaitMsMax))),
      ])
      clearTimeout(timer)
    }
    await this.#handle.close()
  }
}

async function readFully(handle: FileHandle, buf: Uint8Array, position: number, path: string): Promise<void> {
  const n = await handle.read(buf, 0, buf.length, position)
  if (n !== buf.length) throw corruptTable(path, position, `short read: ${n} of ${buf.length} bytes`)
}
