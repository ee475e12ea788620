/**
 * Range tombstones (deleteRange). Design: a deleteRange at LSN t removes the covered entries of
 * the memtable at once and is recorded as a tombstone [start, end) with seq t. Flushed
 * tombstones live in the version (and the manifest), not in table files, and every read checks
 * them: an entry (key, seq s) is hidden when a tombstone covering key has seq > s. This is
 * correct for tables written before the deleteRange whatever their level, and needs no
 * clipping of tombstones at table boundaries. Compaction applies the tombstones (drops covered
 * entries) and stamps its output with the LSN up to which they were applied (`tombstoneLsn`);
 * a tombstone is dropped from the version once every table overlapping its range has
 * tombstoneLsn >= its seq, i.e. nothing it could hide remains (compaction.ts makes sure that
 * happens: tombstones trigger compactions of the tables they are pending on).
 *
 * Tombstone sets are FRAGMENTED (as Pebble's and RocksDB's fragmented range tombstones): sorted
 * by start, non-overlapping, non-empty, each fragment carrying the highest seq of the
 * tombstones that covered it. "Is (key, seq) covered" only asks whether the highest covering
 * seq is above seq, so fragmenting loses nothing, and the question becomes a binary search.
 * Every function here that takes a tombstone list expects a fragmented one.
 */
import { assert } from '../io/assert.js'
import { firstTableReaching } from './level-search.js'
import type { Table } from './table/index.js'
import { compareBytes, type RangeTombstone } from './types.js'

/** Index of the first fragment whose end is above `key` (the only one that may cover it). */
function firstEndingAfter(fragments: readonly RangeTombstone[], key: Uint8Array): number {
  let lo = 0
  let hi = fragments.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareBytes(fragments[mid]!.end, key) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Index of the first fragment whose start is above `key` (or at it, when `inclusive`). */
function firstStartingAfter(fragments: readonly RangeTombstone[], key: Uint8Array, inclusive: boolean): number {
  let lo = 0
  let hi = fragments.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = compareBytes(fragments[mid]!.start, key)
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** True when a tombstone covering `key` is newer than `seq`. O(log n) over a fragmented set. */
export function isCovered(fragments: readonly RangeTombstone[], key: Uint8Array, seq: number): boolean {
  const i = firstEndingAfter(fragments, key)
  if (i >= fragments.length) return false
  const f = fragments[i]!
  return f.seq > seq && compareBytes(f.start, key) <= 0
}

/** True when `fragments` is sorted, non-overlapping and has no empty fragment (O(n), for asserts). */
export function isFragmented(fragments: readonly RangeTombstone[]): boolean {
  for (let i = 0; i < fragments.length; i++) {
    const f = fragments[i]!
    if (compareBytes(f.start, f.end) >= 0) return false
    if (i > 0 && compareBytes(fragments[i - 1]!.end, f.start) > 0) return false
  }
  return true
}

/**
 * The fragmented form of any list of tombstones (overlapping, unsorted, empty ones allowed):
 * the same coverage, each point with the highest seq covering it. Adjacent fragments with the
 * same seq are joined. O(n log n).
 */
export function fragmentTombstones(tombstones: readonly RangeTombstone[]): RangeTombstone[] {
  const list = tombstones.filter((t) => compareBytes(t.start, t.end) < 0)
  if (list.length === 0) return []
  if (list.length === 1) return [list[0]!]
  list.sort((a, b) => compareBytes(a.start, b.start))
  const bounds: Uint8Array[] = []
  for (const t of list) bounds.push(t.start, t.end)
  bounds.sort(compareBytes)
  // A max-heap (by seq) of the tombstones started so far; ended ones are dropped lazily.
  const heap: RangeTombstone[] = []
  const push = (t: RangeTombstone): void => {
    let i = heap.push(t) - 1
    while (i > 0) {
      const p = (i - 1) >>> 1
      if (heap[p]!.seq >= heap[i]!.seq) break
      ;[heap[p], heap[i]] = [heap[i]!, heap[p]!]
      i = p
    }
  }
  const pop = (): void => {
    const last = heap.pop()!
    if (heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= heap.length) return
      const r = l + 1
      const m = r < heap.length && heap[r]!.seq > heap[l]!.seq ? r : l
      if (heap[i]!.seq >= heap[m]!.seq) return
      ;[heap[m], heap[i]] = [heap[i]!, heap[m]!]
      i = m
    }
  }
  const out: RangeTombstone[] = []
  let next = 0
  for (let b = 0; b < bounds.length - 1; b++) {
    const at = bounds[b]!
    const to = bounds[b + 1]!
    if (compareBytes(at, to) === 0) continue
    while (next < list.length && compareBytes(list[next]!.start, at) <= 0) push(list[next++]!)
    while (heap.length > 0 && compareBytes(heap[0]!.end, at) <= 0) pop()
    if (heap.length === 0) continue
    const seq = heap[0]!.seq
    const prev = out[out.length - 1]
    if (prev !== undefined && prev.seq === seq && compareBytes(prev.end, at) === 0) out[out.length - 1] = { start: prev.start, end: to, seq }
    else out.push({ start: at, end: to, seq })
  }
  return out
}

/**
 * Adds tombstone `t` to the fragmented set `fragments` IN PLACE. `t.seq` must be at least the seq
 * of every fragment it overlaps (true of a new deleteRange: LSNs only grow), so `t` simply
 * replaces what it covers. O(log n) to find the place plus one splice.
 */
export function insertTombstone(fragments: RangeTombstone[], t: RangeTombstone): void {
  if (compareBytes(t.start, t.end) >= 0) return
  const i = firstEndingAfter(fragments, t.start)
  const j = firstStartingAfter(fragments, t.end, true)
  const replacement: RangeTombstone[] = []
  if (i < j) {
    const first = fragments[i]!
    const last = fragments[j - 1]!
    for (let k = i; k < j; k++) assert(fragments[k]!.seq <= t.seq, 'a new tombstone is the newest where it lands')
    if (compareBytes(first.start, t.start) < 0) replacement.push({ start: first.start, end: t.start, seq: first.seq })
    replacement.push(t)
    if (compareBytes(last.end, t.end) > 0) replacement.push({ start: t.end, end: last.end, seq: last.seq })
  } else {
    replacement.push(t)
  }
  fragments.splice(i, j - i, ...replacement)
}

/** Fragments whose range meets [lower, upper] (undefined = unbounded): a sorted slice. */
export function tombstonesWithin(
  fragments: readonly RangeTombstone[],
  lower: Uint8Array | undefined,
  upper: Uint8Array | undefined,
): RangeTombstone[] {
  const from = lower === undefined ? 0 : firstEndingAfter(fragments, lower)
  const to = upper === undefined ? fragments.length : firstStartingAfter(fragments, upper, false)
  return fragments.slice(from, Math.max(from, to))
}

/** Index range [from, to) of the fragments meeting the table's key range [smallest, largest]. */
function overlappingRange(fragments: readonly RangeTombstone[], table: Table): [number, number] {
  const from = firstEndingAfter(fragments, table.info.smallest)
  const to = firstStartingAfter(fragments, table.info.largest, false)
  return [from, Math.max(from, to)]
}

/**
 * Fragments overlapping `table` that were not yet applied to it (seq above its tombstoneLsn):
 * the tombstones this table keeps alive until it is rewritten.
 */
export function pendingTombstones(fragments: readonly RangeTombstone[], table: Table): RangeTombstone[] {
  const [from, to] = overlappingRange(fragments, table)
  const out: RangeTombstone[] = []
  for (let i = from; i < to; i++) if (fragments[i]!.seq > table.info.tombstoneLsn) out.push(fragments[i]!)
  return out
}

/** True when `table` keeps some fragment alive (see pendingTombstones). */
export function hasPendingTombstones(fragments: readonly RangeTombstone[], table: Table): boolean {
  if (fragments.length === 0) return false
  const [from, to] = overlappingRange(fragments, table)
  for (let i = from; i < to; i++) if (fragments[i]!.seq > table.info.tombstoneLsn) return true
  return false
}

/**
 * Fragments that still matter for the live tables in `levels` (levels[0] in any order, the
 * others sorted by key and non-overlapping): those some overlapping table has not applied yet.
 */
export function liveTombstones(fragments: readonly RangeTombstone[], levels: readonly (readonly Table[])[]): RangeTombstone[] {
  const pending = (f: RangeTombstone, t: Table): boolean =>
    t.info.tombstoneLsn < f.seq && compareBytes(t.info.smallest, f.end) < 0 && compareBytes(t.info.largest, f.start) >= 0
  return fragments.filter((f) => {
    for (let l = 0; l < levels.length; l++) {
      const tables = levels[l]!
      if (l === 0) {
        if (tables.some((t) => pending(f, t))) return true
        continue
      }
      // The first table whose largest key is >= f.start, then on while tables start below f.end.
      for (let i = firstTableReaching(tables, f.start); i < tables.length && compareBytes(tables[i]!.info.smallest, f.end) < 0; i++) {
        if (tables[i]!.info.tombstoneLsn < f.seq) return true
      }
    }
    return false
  })
}
