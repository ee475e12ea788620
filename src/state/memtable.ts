/**
 * The mutable in-memory table: newest version of each key written since the last flush, plus the
 * range tombstones written since then. Built on `sorted-btree`, whose `clone()` is O(1)
 * copy-on-write, which is how scans and read snapshots get a frozen view while writes go on.
 *
 * The tree is keyed by the latin1 string of the key bytes (`latin1Key`): code units 0..255 order
 * exactly like unsigned bytes, so the tree compares with native string comparison instead of a
 * byte loop over two Uint8Arrays (several times cheaper per insert). Each entry keeps the
 * original key bytes too, so flushes and scans never convert back.
 *
 * Invariants:
 * - every entry's seq is > the seq of every range tombstone of this memtable covering it
 *   (a deleteRange removes the covered entries it replaces), so a memtable hit is never hidden
 *   by this memtable's own tombstones;
 * - an entry stored under string `s` has `latin1Key(entry.key) === s`;
 * - `bytes` approximates memory use (key bytes, key string, value, a per-entry overhead), never
 *   below it;
 * - once frozen (`lsn` set by the tree) it is never modified again.
 */
import { assert } from '../io/assert.js'
import { BTree } from './btree.js'
import { compareBytes, type RangeTombstone, type VersionedValue } from './types.js'

/**
 * Approximate memory per entry beyond the key bytes, the key string's characters and the value
 * bytes (B-tree slot, entry object, buffer headers, string header).
 */
export const memtableEntryOverheadBytes = 128

/** One memtable entry: the newest version of `key`. */
export interface MemEntry extends VersionedValue {
  readonly key: Uint8Array
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string

/** The tree key of `key`: one latin1 code unit per byte (orders exactly like the bytes). */
export function latin1Key(key: Uint8Array): string {
  return latin1Slice.call(key, 0, key.length)
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export class Memtable {
  readonly tree: BTree<string, MemEntry>
  readonly tombstones: RangeTombstone[]
  bytes = 0
  /** Highest LSN applied to this memtable (all its effects are from LSNs <= this). */
  lsn = 0

  constructor(tree?: BTree<string, MemEntry>, tombstones: RangeTombstone[] = [], bytes = 0, lsn = 0) {
    this.tree = tree ?? new BTree<string, MemEntry>(undefined, compareStrings)
    this.tombstones = tombstones
    this.bytes = bytes
    this.lsn = lsn
  }

  get isEmpty(): boolean {
    return this.tree.size === 0 && this.tombstones.length === 0
  }

  get size(): number {
    return this.tree.size
  }

  /** The newest version of `key` in this memtable (a point tombstone has `value` undefined), or undefined. */
  get(key: Uint8Array): MemEntry | undefined {
    // An empty memtable (the active one right after a flush) answers without converting the key.
    return this.tree.size === 0 ? undefined : this.tree.get(latin1Key(key))
  }

  /** Entries in key order from `lower` (a tree key, inclusive) on. */
  entries(lower?: string): IterableIterator<[string, MemEntry]> {
    return this.tree.entries(lower)
  }

  /** Entries in reverse key order from `upper` (a tree key, inclusive) down. */
  entriesReversed(upper?: string): IterableIterator<[string, MemEntry]> {
    return this.tree.entriesReversed(upper)
  }

  /**
   * Sets the newest version of `key`; `value` undefined writes a point tombstone. Takes
   * ownership of the buffers. One tree descent only: an overwrite adds the new value's bytes
   * without subtracting the old one's (looking it up would double the cost of a write), so
   * `bytes` can overestimate, which flushes early, never late. It does not charge the entry
   * overhead again though (the tree says the key was there): charging every overwrite as
   * a new entry flushed an overwrite-heavy memtable at a third of its real size, tripling the
   * flush and compaction bytes. (Old copies of keys and values may stay allocated in
   * shared slabs, so counting their bytes is close to the truth, not just safe.)
   */
  set(key: Uint8Array, seq: number, value: Uint8Array | undefined): void {
    const added = this.tree.set(latin1Key(key), { key, seq, value }, true)
    this.bytes += (value?.length ?? 0) + 2 * key.length + (added ? memtableEntryOverheadBytes : 0)
  }

  deleteRange(start: Uint8Array, end: Uint8Array, seq: number): void {
    if (compareBytes(start, end) >= 0) return
    const lo = latin1Key(start)
    const hi = latin1Key(end)
    this.tree.forRange(lo, hi, false, (_k, v) => {
      this.bytes -= (v.value?.length ?? 0) + 2 * v.key.length + memtableEntryOverheadBytes
    })
    this.tree.deleteRange(lo, hi, false)
    this.tombstones.push({ start, end, seq })
    this.bytes += start.length + end.length + memtableEntryOverheadBytes
  }

  noteLsn(lsn: number): void {
    assert(lsn > this.lsn, 'memtable LSNs increase')
    this.lsn = lsn
  }

  /** A frozen copy sharing structure with this memtable (O(1)); later writes here do not show in it. */
  snapshot(): Memtable {
    return new Memtable(this.tree.clone(), this.tombstones.slice(), this.bytes, this.lsn)
  }
}
