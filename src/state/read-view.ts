/**
 * A consistent view for reading: memtables (newest first, frozen unless the caller guarantees
 * otherwise), one pinned version and every range tombstone of both. Point reads and scans of
 * the live tree and of read snapshots all go through here.
 *
 * Invariants: the first source (in newest-first order) holding a key has its newest version; that
 * version is visible unless it is a point tombstone or a range tombstone with a higher seq covers
 * it. Values handed out are copies, so a caller can never corrupt a memtable or a cached block.
 */
import { hashKey } from './bloom-filter.js'
import { type Cursor, LevelCursor, MemtableCursor, TableCursor } from './cursor.js'
import type { Memtable } from './memtable.js'
import { MergeIterator } from './merge-iterator.js'
import { isCovered, tombstonesWithin } from './range-tombstones.js'
import type { Table } from './table-reader.js'
import { boundsOf, compareBytes, type RangeTombstone, type ScanRange, type VersionedValue } from './types.js'
import type { Version } from './version.js'

export interface ViewParts {
  memtables: readonly Memtable[]
  version: Version
  tombstones: readonly RangeTombstone[]
}

async function tableGet(t: Table, key: Uint8Array): Promise<VersionedValue | undefined> {
  const bi = t.blockFor(key)
  if (bi >= t.blockCount) return undefined
  const block = t.cachedBlock(bi) ?? (await t.loadBlock(bi))
  const i = block.find(key)
  if (i < 0) return undefined
  return { seq: block.seqAt(i), value: block.valueAt(i) }
}

function visible(v: VersionedValue, key: Uint8Array, tombstones: readonly RangeTombstone[]): Uint8Array | undefined {
  if (v.value === undefined) return undefined
  if (tombstones.length > 0 && isCovered(tombstones, key, v.seq)) return undefined
  return v.value.slice()
}

/** The newest visible value of `key` in the view, or undefined. */
export async function viewGet(view: ViewParts, key: Uint8Array): Promise<Uint8Array | undefined> {
  for (const m of view.memtables) {
    const v = m.tree.get(key)
    if (v !== undefined) return visible(v, key, view.tombstones)
  }
  const levels = view.version.levels
  let hash = -1
  for (const t of levels[0]!) {
    if (hash < 0) hash = hashKey(key)
    if (!t.mayContain(key, hash)) continue
    const v = await tableGet(t, key)
    if (v !== undefined) return visible(v, key, view.tombstones)
  }
  for (let l = 1; l < levels.length; l++) {
    const tables = levels[l]!
    if (tables.length === 0) continue
    let lo = 0
    let hi = tables.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(tables[mid]!.info.largest, key) < 0) lo = mid + 1
      else hi = mid
    }
    const t = tables[lo]
    if (t === undefined) continue
    if (hash < 0) hash = hashKey(key)
    if (!t.mayContain(key, hash)) continue
    const v = await tableGet(t, key)
    if (v !== undefined) return visible(v, key, view.tombstones)
  }
  return undefined
}

/**
 * Scans the view. The caller has pinned `view.version` and passes `release`, called once when
 * the iteration ends (exhausted, `return()`ed by a `break`, or failed).
 */
export async function* viewScan(view: ViewParts, range: ScanRange, release: () => void): AsyncGenerator<[Uint8Array, Uint8Array]> {
  try {
    const bounds = boundsOf(range)
    const reverse = range.reverse === true
    let limit = range.limit ?? Number.POSITIVE_INFINITY
    if (limit <= 0) return
    if (bounds.lower !== undefined && bounds.upper !== undefined) {
      const c = compareBytes(bounds.lower, bounds.upper)
      if (c > 0 || (c === 0 && !(bounds.lowerInclusive && bounds.upperInclusive))) return
    }
    const cursors: Cursor[] = []
    for (const m of view.memtables) cursors.push(new MemtableCursor(m, bounds, reverse))
    const levels = view.version.levels
    for (const t of levels[0]!) cursors.push(new TableCursor(t, bounds, reverse))
    for (let l = 1; l < levels.length; l++) if (levels[l]!.length > 0) cursors.push(new LevelCursor(levels[l]!, bounds, reverse))
    const tombstones = tombstonesWithin(view.tombstones, bounds.lower, bounds.upper)
    const merge = new MergeIterator(cursors, reverse)
    let ok = await merge.start()
    while (ok) {
      const value = merge.value
      if (value !== undefined && (tombstones.length === 0 || !isCovered(tombstones, merge.key, merge.seq))) {
        yield [merge.key.slice(), value.slice()]
        if (--limit <= 0) return
      }
      const r = merge.next()
      ok = r instanceof Promise ? await r : r
    }
  } finally {
    release()
  }
}
