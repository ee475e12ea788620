/**
 * The mutable in-memory table: newest version of each key written since the last flush, plus the
 * range tombstones written since then.
 *
 * Built for this workload (many random puts, point reads, occasional ordered scans and one
 * ordered pass at flush) rather than as a general ordered map: a hash map from the key's latin1
 * string to its slot (a put or a point read is one hash lookup, no tree descent), and a sorted
 * index of the keys built incrementally: new keys go to a pending list, and the first ordered
 * read after writes sorts that list natively and merges it into the sorted array (a new array,
 * so an iteration in progress keeps the one it started with). `bench/memtable-probe.ts` measures
 * it against the `sorted-btree` memtable this replaced.
 *
 * Read snapshots at an LSN: a snapshot shares the map and the index and sees, per key, the
 * newest version with seq <= its LSN; a slot's older versions stay chained behind it only while
 * some snapshot taken before the new version may need them (a write after the newest snapshot
 * drops the chain). A deleteRange never removes a key from the map: it puts a "removed" version
 * over each covered key, so older snapshots still see what they saw. Slots are never changed in
 * place: an entry handed out stays what it was.
 *
 * The map and index are keyed by the latin1 string of the key bytes (`latin1Key`): code units
 * 0..255 order exactly like unsigned bytes, so sorting and searching use native string
 * comparison instead of a byte loop.
 *
 * Invariants:
 * - every key of the maps is in exactly one map, and in exactly one of the sorted index and the
 *   pending list, once;
 * - a slot's chain is in decreasing seq order; a key's visible version at limit L is the first
 *   with seq <= L, and none or a removed one means "not in this memtable";
 * - every visible entry's seq is > the seq of every range tombstone of this memtable covering
 *   it that the same reader sees (a deleteRange puts a removed version over the covered keys),
 *   so a memtable hit is never hidden by this memtable's own tombstones;
 * - `bytes` approximates memory use (key bytes, key string, value, a per-entry overhead), never
 *   below it;
 * - once frozen (the tree stops writing to it) it is never modified again.
 */
import { assert } from '../io/assert.js'
import { compareBytes, type RangeTombstone, type VersionedValue } from './types.js'

/**
 * Approximate memory per entry beyond the key bytes, the key string's characters and the value
 * bytes (map entry, slot object, index slot, buffer headers, string header).
 */
export const memtableEntryOverheadBytes = 128

/**
 * Keys one map of a memtable holds (a JS Map holds at most 2^24 entries); past it, new keys go
 * to another map, so a large memtable of small entries never hits the Map's bound.
 */
export const memtableMapKeysMax = 2 ** 23

/** One memtable entry: the newest version of `key`. */
export interface MemEntry extends VersionedValue {
  readonly key: Uint8Array
}

/** One version of a key: a put, a point tombstone (value undefined), or removed by a deleteRange. */
class Slot implements MemEntry {
  constructor(
    readonly key: Uint8Array,
    readonly seq: number,
    readonly value: Uint8Array | undefined,
    readonly removed: boolean,
    readonly older: Slot | undefined,
  ) {}
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string

/** The map key of `key`: one latin1 code unit per byte (orders exactly like the bytes). */
export function latin1Key(key: Uint8Array): string {
  return latin1Slice.call(key, 0, key.length)
}

/** What a memtable and its snapshots share: the maps (usually one) and the sorted index. */
export class MemtableCore {
  /** Each key is in exactly one map; new keys go to the last, until it holds `mapKeysMax`. */
  readonly #maps: Array<Map<string, Slot>> = [new Map()]
  readonly #mapKeysMax: number
  #size = 0
  /** Sorted keys; replaced (never changed in place) when pending keys are merged in. */
  sorted: string[] = []
  pending: string[] = []
  /** The highest LSN a snapshot was taken at: versions above it are seen by no snapshot. */
  snapshotLsn = -1

  constructor(mapKeysMax = memtableMapKeysMax) {
    this.#mapKeysMax = mapKeysMax
  }

  /** Keys in the maps (removed ones too). */
  get size(): number {
    return this.#size
  }

  get(s: string): Slot | undefined {
    const maps = this.#maps
    if (maps.length === 1) return maps[0]!.get(s)
    for (let i = maps.length - 1; i >= 0; i--) {
      const slot = maps[i]!.get(s)
      if (slot !== undefined) return slot
    }
    return undefined
  }

  /** Sets the slot of `s`, a key the maps hold (`isNew` false) or not. */
  set(s: string, slot: Slot, isNew: boolean): void {
    const maps = this.#maps
    if (isNew) {
      let last = maps[maps.length - 1]!
      if (last.size >= this.#mapKeysMax) {
        last = new Map()
        maps.push(last)
      }
      last.set(s, slot)
      this.#size++
      this.pending.push(s)
      return
    }
    if (maps.length === 1) {
      maps[0]!.set(s, slot)
      return
    }
    for (const m of maps) {
      if (m.has(s)) {
        m.set(s, slot)
        return
      }
    }
    assert(false, 'an existing key is in one of the maps')
  }

  /** The sorted index with every key of the maps in it. */
  index(): string[] {
    if (this.pending.length === 0) return this.sorted
    // Default sort compares UTF-16 code units: for latin1 strings, the byte order.
    const fresh = this.pending.sort()
    this.pending = []
    const old = this.sorted
    if (old.length === 0) {
      this.sorted = fresh
      return fresh
    }
    const bySearch = fresh.length <= mergeBySearchKeysMax && fresh.length * mergeBySearchRatio < old.length
    this.sorted = bySearch ? mergeBySearch(old, fresh) : mergeLinear(old, fresh)
    return this.sorted
  }
}

/**
 * Below this ratio of old to new keys, a merge finds each new key's place by binary search and
 * copies the old keys between in slices (native copies) instead of comparing every old key: a
 * scan or snapshot every few writes into a large memtable merges a few keys into many.
 */
const mergeBySearchRatio = 16
/** At most this many new keys merge by search (its slices are spread as one call's arguments). */
const mergeBySearchKeysMax = 4096

/** Two sorted arrays as one, comparing every element. */
function mergeLinear(old: readonly string[], fresh: readonly string[]): string[] {
  const out = new Array<string>(old.length + fresh.length)
  let i = 0
  let j = 0
  let o = 0
  while (i < old.length && j < fresh.length) out[o++] = old[i]! < fresh[j]! ? old[i++]! : fresh[j++]!
  while (i < old.length) out[o++] = old[i++]!
  while (j < fresh.length) out[o++] = fresh[j++]!
  return out
}

/** Two sorted arrays as one, `fresh` much the shorter: binary search per fresh key, slices between. */
function mergeBySearch(old: readonly string[], fresh: readonly string[]): string[] {
  const parts: string[][] = []
  let from = 0
  for (const key of fresh) {
    const at = lowerBound(old, key, from)
    if (at > from) parts.push(old.slice(from, at))
    parts.push([key])
    from = at
  }
  if (from < old.length) parts.push(old.slice(from))
  return ([] as string[]).concat(...parts)
}

/** The first index of `keys` (from `lo` on) whose key is >= `s` (keys.length if none). */
function lowerBound(keys: readonly string[], s: string, lo = 0): number {
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid]! < s) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The version of `slot` a reader at `limit` sees, or undefined (none, or removed). */
function visible(slot: Slot | undefined, limit: number): Slot | undefined {
  let s = slot
  while (s !== undefined && s.seq > limit) s = s.older
  return s === undefined || s.removed ? undefined : s
}

/** Iterates an index range in one direction, yielding the visible version of each key. */
class EntryIterator implements IterableIterator<[string, MemEntry]> {
  readonly #keys: readonly string[]
  readonly #map: MemtableCore
  readonly #limit: number
  readonly #step: number
  #i: number

  constructor(keys: readonly string[], map: MemtableCore, limit: number, from: number, step: number) {
    this.#keys = keys
    this.#map = map
    this.#limit = limit
    this.#i = from
    this.#step = step
  }

  next(): IteratorResult<[string, MemEntry]> {
    const keys = this.#keys
    while (this.#i >= 0 && this.#i < keys.length) {
      const s = keys[this.#i]!
      this.#i += this.#step
      const v = visible(this.#map.get(s), this.#limit)
      if (v !== undefined) return { done: false, value: [s, v] }
    }
    return { done: true, value: undefined }
  }

  [Symbol.iterator](): IterableIterator<[string, MemEntry]> {
    return this
  }
}

export class Memtable {
  readonly tombstones: RangeTombstone[]
  bytes = 0
  /** Highest LSN applied to this memtable (all its effects are from LSNs <= this). */
  lsn = 0
  readonly #core: MemtableCore
  /** Versions above this are not seen (a snapshot's LSN; Infinity for the memtable itself). */
  readonly #limit: number
  /** Keys whose visible version is a put or a point tombstone. */
  #live = 0

  constructor(core?: MemtableCore, tombstones: RangeTombstone[] = [], bytes = 0, lsn = 0, limit = Number.POSITIVE_INFINITY, live = 0) {
    this.#core = core ?? new MemtableCore()
    this.tombstones = tombstones
    this.bytes = bytes
    this.lsn = lsn
    this.#limit = limit
    this.#live = live
  }

  get isEmpty(): boolean {
    return this.#live === 0 && this.tombstones.length === 0
  }

  get size(): number {
    return this.#live
  }

  /** The newest version of `key` in this memtable (a point tombstone has `value` undefined), or undefined. */
  get(key: Uint8Array): MemEntry | undefined {
    // An empty memtable (the active one right after a flush) answers without converting the key.
    if (this.#core.size === 0) return undefined
    return visible(this.#core.get(latin1Key(key)), this.#limit)
  }

  /** Entries in key order from `lower` (a map key, inclusive) on. */
  entries(lower?: string): IterableIterator<[string, MemEntry]> {
    const keys = this.#core.index()
    return new EntryIterator(keys, this.#core, this.#limit, lower === undefined ? 0 : lowerBound(keys, lower), 1)
  }

  /** Entries in reverse key order from `upper` (a map key, inclusive) down. */
  entriesReversed(upper?: string): IterableIterator<[string, MemEntry]> {
    const keys = this.#core.index()
    let from = keys.length - 1
    if (upper !== undefined) {
      from = lowerBound(keys, upper)
      if (from === keys.length || keys[from] !== upper) from--
    }
    return new EntryIterator(keys, this.#core, this.#limit, from, -1)
  }

  /**
   * Sets the newest version of `key`; `value` undefined writes a point tombstone. Takes
   * ownership of the buffers. An overwrite adds the new value's bytes without subtracting the
   * old one's, so `bytes` can overestimate, which flushes early, never late (the old buffers
   * may stay allocated in shared slabs, so counting them is close to the truth). It does not
   * charge the entry overhead again though: charging every overwrite as a new entry flushed an
   * overwrite-heavy memtable at a third of its real size.
   */
  set(key: Uint8Array, seq: number, value: Uint8Array | undefined): void {
    assert(this.#limit === Number.POSITIVE_INFINITY, 'a memtable snapshot is read-only')
    const core = this.#core
    const s = latin1Key(key)
    const old = core.get(s)
    let added: boolean
    if (old === undefined) {
      core.set(s, new Slot(key, seq, value, false, undefined), true)
      added = true
    } else {
      // Keep the older versions only while a snapshot may still read them.
      core.set(s, new Slot(key, seq, value, false, old.seq > core.snapshotLsn ? old.older : old), false)
      added = old.removed
    }
    if (added) this.#live++
    this.bytes += (value?.length ?? 0) + 2 * key.length + (added ? memtableEntryOverheadBytes : 0)
  }

  deleteRange(start: Uint8Array, end: Uint8Array, seq: number): void {
    assert(this.#limit === Number.POSITIVE_INFINITY, 'a memtable snapshot is read-only')
    if (compareBytes(start, end) >= 0) return
    const core = this.#core
    const lo = latin1Key(start)
    const hi = latin1Key(end)
    const keys = core.index()
    for (let i = lowerBound(keys, lo); i < keys.length && keys[i]! < hi; i++) {
      const s = keys[i]!
      const old = core.get(s)!
      if (old.removed) continue
      this.bytes -= (old.value?.length ?? 0) + 2 * old.key.length + memtableEntryOverheadBytes
      this.#live--
      core.set(s, new Slot(old.key, seq, undefined, true, old.seq > core.snapshotLsn ? old.older : old), false)
    }
    this.tombstones.push({ start, end, seq })
    this.bytes += start.length + end.length + memtableEntryOverheadBytes
  }

  noteLsn(lsn: number): void {
    assert(lsn > this.lsn, 'memtable LSNs increase')
    this.lsn = lsn
  }

  /** A frozen view sharing structure with this memtable (O(1)); later writes here do not show in it. */
  snapshot(): Memtable {
    assert(this.#limit === Number.POSITIVE_INFINITY, 'a snapshot of the memtable itself')
    if (this.lsn > this.#core.snapshotLsn) this.#core.snapshotLsn = this.lsn
    return new Memtable(this.#core, this.tombstones.slice(), this.bytes, this.lsn, this.lsn, this.#live)
  }
}
