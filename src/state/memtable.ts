/**
 * The mutable in-memory table: newest version of each key written since the last flush, plus the
 * range tombstones written since then. Built on `sorted-btree`, whose `clone()` is O(1)
 * copy-on-write, which is how scans and read snapshots get a frozen view while writes go on.
 *
 * Invariants:
 * - every entry's seq is > the seq of every range tombstone of this memtable covering it
 *   (a deleteRange removes the covered entries it replaces), so a memtable hit is never hidden
 *   by this memtable's own tombstones;
 * - `bytes` approximates memory use (keys + values + a per-entry overhead), never below it;
 * - once frozen (`lsn` set by the tree) it is never modified again.
 */
import { assert } from '../io/assert.js'
import { BTree } from './btree.js'
import { compareBytes, type RangeTombstone, type VersionedValue } from './types.js'

/** Approximate memory per entry beyond key and value bytes (B-tree slot, entry object, buffers). */
export const memtableEntryOverheadBytes = 96

export class Memtable {
  readonly tree: BTree<Uint8Array, VersionedValue>
  readonly tombstones: RangeTombstone[]
  bytes = 0
  /** Highest LSN applied to this memtable (all its effects are from LSNs <= this). */
  lsn = 0

  constructor(tree?: BTree<Uint8Array, VersionedValue>, tombstones: RangeTombstone[] = [], bytes = 0, lsn = 0) {
    this.tree = tree ?? new BTree<Uint8Array, VersionedValue>(undefined, compareBytes)
    this.tombstones = tombstones
    this.bytes = bytes
    this.lsn = lsn
  }

  get isEmpty(): boolean {
    return this.tree.size === 0 && this.tombstones.length === 0
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
    const added = this.tree.set(key, { seq, value }, true)
    this.bytes += (value?.length ?? 0) + key.length + (added ? memtableEntryOverheadBytes : 0)
  }

  deleteRange(start: Uint8Array, end: Uint8Array, seq: number): void {
    if (compareBytes(start, end) >= 0) return
    this.tree.forRange(start, end, false, (k, v) => {
      this.bytes -= (v.value?.length ?? 0) + k.length + memtableEntryOverheadBytes
    })
    this.tree.deleteRange(start, end, false)
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
