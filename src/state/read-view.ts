/**
 * A consistent view for reading: memtables (newest first, frozen unless the caller guarantees
 * otherwise), one pinned version and every range tombstone of both. Point reads and scans of
 * the live tree and of read snapshots all go through here.
 *
 * Invariants: the first source (in newest-first order) holding a key has its newest version; that
 * version is visible unless it is a point tombstone or a range tombstone with a higher seq covers
 * it. What is handed out is a copy made for callers only (`resultCopy` for point reads; a scan's
 * own slabs holding exactly the entries it hands out), so a caller can never corrupt a memtable
 * or a cached block, nor see through a result's `.buffer` what it did not read (other keys,
 * shadowed or deleted versions).
 */
import { CairnError } from '../io/errors.js'
import { type Block, hashKey, type Table } from './table/index.js'
import { firstTableReaching } from './level-search.js'
import { type Cursor, LevelCursor, MemtableCursor, TableCursor } from './cursor.js'
import type { Memtable } from './memtable.js'
import { MergeIterator } from './merge-iterator.js'
import { isCovered, tombstonesWithin } from './range-tombstones.js'
import { boundsOf, compareBytes, resultCopy, SlabCopier, scanSlabBytesMax, type RangeTombstone, type ScanRange, type VersionedValue } from './types.js'
import type { Version } from './version.js'

export interface ViewParts {
  memtables: readonly Memtable[]
  version: Version
  tombstones: readonly RangeTombstone[]
}

function visible(v: VersionedValue, key: Uint8Array, tombstones: readonly RangeTombstone[]): Uint8Array | undefined {
  if (v.value === undefined) return undefined
  if (tombstones.length > 0 && isCovered(tombstones, key, v.seq)) return undefined
  return resultCopy(v.value)
}

/** The table of a sorted, non-overlapping level whose range may hold `key`, or undefined. */
function levelTableFor(tables: readonly Table[], key: Uint8Array): Table | undefined {
  return tables[firstTableReaching(tables, key)]
}

/** Outcome of probing one table synchronously: a hit, "not here", or "the block must be read async". */
const notHere = 0
const notCached = 1

/**
 * Looks `key` up in `t` without awaiting: from the block cache, else with a blocking read when
 * the table and the sync-read budget allow (a block in the OS page cache costs microseconds that
 * way, against a thread-pool round trip). Returns the visible value (or undefined for a hidden
 * one) wrapped as a hit, or a marker: `notCached` when the block must be read async. No
 * allocation on this path besides the value copy; a failed read or a damaged block throws.
 */
function probe(view: ViewParts, t: Table, key: Uint8Array, hit: { value: Uint8Array | undefined }): number | undefined {
  const bi = t.blockFor(key)
  if (bi >= t.blockCount) return notHere
  const block = t.cachedBlock(bi) ?? t.loadBlockSync(bi)
  if (block === undefined) return notCached
  const i = block.find(key)
  if (i < 0) return notHere
  hit.value = visibleAt(block, i, key, view.tombstones)
  return undefined
}

function visibleAt(block: Block, i: number, key: Uint8Array, tombstones: readonly RangeTombstone[]): Uint8Array | undefined {
  const value = block.valueAt(i)
  if (value === undefined) return undefined
  if (tombstones.length > 0 && isCovered(tombstones, key, block.seqAt(i))) return undefined
  return resultCopy(value)
}

/**
 * The newest visible value of `key` in the view, or undefined. Answers synchronously when every
 * block it needs is cached (no promise, no candidate list); returns a Promise once it has to read
 * a block. A caller that gets a Promise must keep `view.version` pinned until it settles.
 */
export function viewGet(view: ViewParts, key: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
  try {
    return viewGetSync(view, key)
  } catch (e) {
    // A blocking read failed or read a damaged block: fail the way an async read does.
    return Promise.reject(e)
  }
}

function viewGetSync(view: ViewParts, key: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
  const memtables = view.memtables
  for (let i = 0; i < memtables.length; i++) {
    const v = memtables[i]!.get(key)
    if (v !== undefined) return visible(v, key, view.tombstones)
  }
  const levels = view.version.levels
  const hash = hashKey(key)
  const hit = { value: undefined as Uint8Array | undefined }
  for (let l = 0; l < levels.length; l++) {
    const tables = levels[l]!
    if (tables.length === 0) continue
    if (l === 0) {
      for (let j = 0; j < tables.length; j++) {
        const t = tables[j]!
        if (!t.mayContain(key, hash)) continue
        const r = probe(view, t, key, hit)
        if (r === undefined) return hit.value
        if (r === notCached) return viewGetFrom(view, key, hash, l, j)
      }
    } else {
      const t = levelTableFor(tables, key)
      if (t === undefined || !t.mayContain(key, hash)) continue
      const r = probe(view, t, key, hit)
      if (r === undefined) return hit.value
      if (r === notCached) return viewGetFrom(view, key, hash, l, 0)
    }
  }
  return undefined
}

/** viewGet from level `level` (and, in L0, table `from`) on, reading blocks as needed. */
async function viewGetFrom(view: ViewParts, key: Uint8Array, hash: number, level: number, from: number): Promise<Uint8Array | undefined> {
  const levels = view.version.levels
  for (let l = level; l < levels.length; l++) {
    const tables = levels[l]!
    const candidates = l === 0 ? tables.slice(l === level ? from : 0) : [levelTableFor(tables, key)]
    for (const t of candidates) {
      if (t === undefined || !t.mayContain(key, hash)) continue
      const bi = t.blockFor(key)
      if (bi >= t.blockCount) continue
      const block = t.cachedBlock(bi) ?? (await t.loadBlock(bi, t.admits(bi)))
      const i = block.find(key)
      if (i >= 0) return visibleAt(block, i, key, view.tombstones)
    }
  }
  return undefined
}

/** Entries a scan gathers synchronously per refill (bounded so a scan with a small limit or an early break does little extra work). */
export const scanBatchEntries = 256

/**
 * Scans the view. The caller has pinned `view.version` and passes `release`, called once when
 * the iteration ends (exhausted, `return()`ed by a `break`, or failed). `isOpen` tells whether
 * the tree is still open: once it is not, `next()` fails with CLOSED (its files are closed).
 *
 * Not an async generator: it fills a batch of entries synchronously from cached blocks and
 * serves `next()` from it with an already-resolved promise, awaiting only when a block must be
 * read. This keeps the per-entry cost to one small promise.
 */
export function viewScan(view: ViewParts, range: ScanRange, release: () => void, isOpen: () => boolean): AsyncIterableIterator<[Uint8Array, Uint8Array]> {
  return new ScanIterator(view, range, release, isOpen)
}

type Entry = [Uint8Array, Uint8Array]

/**
 * The safety net for scans nobody finishes (no `break`, no `return()`, no end reached): once
 * the iterator is garbage, its pin is released, so its files do not stay open and undeleted for
 * the life of the process. The held value is the release callback, which does not reference the
 * iterator (it would never become garbage otherwise).
 */
const abandonedScans = new FinalizationRegistry<() => void>((release) => release())

class ScanIterator implements AsyncIterableIterator<Entry> {
  readonly #view: ViewParts
  readonly #range: ScanRange
  readonly #isOpen: () => boolean
  #release: (() => void) | undefined
  #merge: MergeIterator | undefined
  #tombstones: RangeTombstone[] = []
  #copier = new SlabCopier(scanSlabBytesMax)
  #limit: number
  #batch: Entry[] = []
  #pos = 0
  /** The merge iterator is positioned on an entry not yet considered. */
  #positioned = false
  #exhausted = false
  /** A refill in progress: a next() called meanwhile waits for it. */
  #filling: Promise<void> | undefined

  constructor(view: ViewParts, range: ScanRange, release: () => void, isOpen: () => boolean) {
    this.#view = view
    this.#range = range
    this.#release = release
    this.#isOpen = isOpen
    abandonedScans.register(this, release, this)
    this.#limit = range.limit ?? Number.POSITIVE_INFINITY
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  #finish(): void {
    this.#exhausted = true
    const release = this.#release
    if (release === undefined) return
    this.#release = undefined
    abandonedScans.unregister(this)
    release()
  }

  async #start(): Promise<void> {
    const bounds = boundsOf(this.#range)
    const reverse = this.#range.reverse === true
    if (this.#limit <= 0) return this.#finish()
    if (bounds.lower !== undefined && bounds.upper !== undefined) {
      const c = compareBytes(bounds.lower, bounds.upper)
      if (c > 0 || (c === 0 && !(bounds.lowerInclusive && bounds.upperInclusive))) return this.#finish()
    }
    const cursors: Cursor[] = []
    for (const m of this.#view.memtables) cursors.push(new MemtableCursor(m, bounds, reverse))
    const levels = this.#view.version.levels
    for (const t of levels[0]!) cursors.push(new TableCursor(t, bounds, reverse, true))
    for (let l = 1; l < levels.length; l++) if (levels[l]!.length > 0) cursors.push(new LevelCursor(levels[l]!, bounds, reverse, true))
    this.#tombstones = tombstonesWithin(this.#view.tombstones, bounds.lower, bounds.upper)
    this.#merge = new MergeIterator(cursors, reverse)
    this.#positioned = await this.#merge.start()
    if (!this.#positioned) this.#finish()
  }

  /** Gathers up to scanBatchEntries entries; awaits only to read blocks. */
  async #fill(): Promise<void> {
    this.#batch = []
    this.#pos = 0
    if (this.#merge === undefined) {
      await this.#start()
      if (this.#exhausted) return
    }
    const merge = this.#merge!
    const tombstones = this.#tombstones
    while (!this.#exhausted && this.#batch.length < scanBatchEntries) {
      if (!this.#positioned) {
        const r = merge.next()
        this.#positioned = r instanceof Promise ? await r : r
        if (!this.#positioned) {
          this.#finish()
          break
        }
      }
      this.#positioned = false
      const value = merge.value
      if (value !== undefined && (tombstones.length === 0 || !isCovered(tombstones, merge.key, merge.seq))) {
        // Copies of exactly the entries handed out: never a view of a block or a memtable buffer,
        // whose other bytes (other keys, shadowed or deleted versions) are not the caller's.
        this.#batch.push([this.#copier.copy(merge.key), this.#copier.copy(value)])
        if (--this.#limit <= 0) this.#finish()
      }
    }
  }

  next(): Promise<IteratorResult<Entry>> {
    if (!this.#isOpen() && this.#release !== undefined) {
      this.#batch = []
      this.#finish()
      return Promise.reject(new CairnError('CLOSED', 'the state this scan reads was closed: open it again and start a new scan'))
    }
    if (this.#filling !== undefined) return this.#filling.then(() => this.next())
    if (this.#pos < this.#batch.length) return Promise.resolve({ value: this.#batch[this.#pos++]!, done: false })
    if (this.#exhausted) return Promise.resolve({ value: undefined, done: true })
    const filling = this.#fill().finally(() => {
      this.#filling = undefined
    })
    this.#filling = filling.catch(() => undefined)
    return filling.then(
      () => (this.#pos < this.#batch.length ? { value: this.#batch[this.#pos++]!, done: false } : { value: undefined, done: true }),
      (e: unknown) => {
        this.#finish()
        throw e
      },
    )
  }

  return(): Promise<IteratorResult<Entry>> {
    this.#batch = []
    this.#finish()
    return Promise.resolve({ value: undefined, done: true })
  }
}
