/**
 * The memory side of a tree: the mutable memtable, the frozen ones waiting to be flushed, and
 * the set of every range tombstone of the current state (cached, fragmented).
 *
 * Invariants:
 * - `frozen` is newest first; a frozen memtable never changes, and `frozenBytes` is the sum of
 *   their bytes (so `bytes` is O(1));
 * - every memtable's LSN is above the LSN of any memtable frozen before it;
 * - the tombstone cache, when built, is the fragmented union of the memtables' and the given
 *   version's tombstones; once handed to a view (`shareTombstones`) it is never changed in
 *   place again (the next deleteRange copies it).
 */
import { assert } from '../io/assert.js'
import { Memtable } from './memtable.js'
import { fragmentTombstones, insertTombstone } from './range-tombstones.js'
import { compareBytes, copyBytes, type RangeTombstone, type StateOp } from './types.js'

export class MemtableSet {
  active: Memtable
  /** Frozen memtables, newest first. */
  readonly frozen: Memtable[] = []
  #frozenBytes = 0
  /** Every range tombstone of the current state, fragmented; built on demand. */
  #tombstones: RangeTombstone[] | undefined
  /** A view may hold #tombstones: the next deleteRange copies it instead of changing it. */
  #tombstonesShared = false
  /** Key and value bytes passed to apply() (the logical write volume). */
  bytesApplied = 0

  constructor(lsn: number) {
    this.active = new Memtable(undefined, [], 0, lsn)
  }

  /** Approximate bytes of the mutable and frozen memtables. */
  get bytes(): number {
    return this.active.bytes + this.#frozenBytes
  }

  get frozenBytes(): number {
    return this.#frozenBytes
  }

  get isEmpty(): boolean {
    return this.active.isEmpty && this.frozen.length === 0
  }

  /** Applies validated ops of record `lsn` to the mutable memtable; `owned`: the bytes are the caller's to give. */
  apply(lsn: number, ops: readonly StateOp[], owned: boolean): void {
    const m = this.active
    for (const op of ops) {
      switch (op.type) {
        case 'put':
          m.set(owned ? op.key : copyBytes(op.key), lsn, owned ? op.value : copyBytes(op.value))
          this.bytesApplied += op.key.length + op.value.length
          break
        case 'delete':
          m.set(owned ? op.key : copyBytes(op.key), lsn, undefined)
          this.bytesApplied += op.key.length
          break
        case 'deleteRange':
          if (compareBytes(op.start, op.end) < 0) {
            const start = owned ? op.start : copyBytes(op.start)
            const end = owned ? op.end : copyBytes(op.end)
            m.deleteRange(start, end, lsn)
            this.#addTombstone({ start, end, seq: lsn })
          }
          this.bytesApplied += op.start.length + op.end.length
          break
      }
    }
    m.noteLsn(lsn)
  }

  /** Every range tombstone of the memtables and `versionTombstones` (the current version's), fragmented. */
  tombstones(versionTombstones: readonly RangeTombstone[]): RangeTombstone[] {
    if (this.#tombstones === undefined) {
      const all: RangeTombstone[] = [...this.active.tombstones]
      for (const m of this.frozen) all.push(...m.tombstones)
      all.push(...versionTombstones)
      this.#tombstones = fragmentTombstones(all)
      this.#tombstonesShared = false
    }
    return this.#tombstones
  }

  /** A view holds the current tombstone set: it must not change under it. */
  shareTombstones(): void {
    this.#tombstonesShared = true
  }

  /** The version's tombstones changed: rebuild the set on next use. */
  invalidateTombstones(): void {
    this.#tombstones = undefined
  }

  /** Adds a new deleteRange to the cached set in O(log n) (it has the highest seq yet). */
  #addTombstone(t: RangeTombstone): void {
    if (this.#tombstones === undefined) return
    if (this.#tombstonesShared) {
      this.#tombstones = this.#tombstones.slice()
      this.#tombstonesShared = false
    }
    insertTombstone(this.#tombstones, t)
  }

  /**
   * The memtables and the tombstone set as of now, for a view: the mutable memtable as a frozen
   * O(1) copy; the tombstone set is shared with the view from then on.
   */
  view(versionTombstones: readonly RangeTombstone[]): { memtables: Memtable[]; tombstones: RangeTombstone[] } {
    // Build first: building resets the shared flag, which must end up set.
    const tombstones = this.tombstones(versionTombstones)
    this.#tombstonesShared = true
    return { memtables: this.active.size > 0 ? [this.active.snapshot(), ...this.frozen] : [...this.frozen], tombstones }
  }

  /**
   * Freezes the mutable memtable if it holds anything past the newest frozen one (or `durableLsn`);
   * returns the LSN the frozen memtables reach.
   */
  freeze(appliedLsn: number, durableLsn: number): number {
    const newestFrozen = this.frozen[0]?.lsn ?? durableLsn
    if (!this.active.isEmpty || this.active.lsn > newestFrozen) {
      this.frozen.unshift(this.active)
      this.#frozenBytes += this.active.bytes
      this.active = new Memtable(undefined, [], 0, appliedLsn)
      this.#tombstones = undefined
    }
    return this.frozen[0]?.lsn ?? durableLsn
  }

  /** The oldest frozen memtable, the next to flush. */
  get oldestFrozen(): Memtable | undefined {
    return this.frozen[this.frozen.length - 1]
  }

  /** Drops `m` once its flush is installed (in the same synchronous step). */
  removeFlushed(m: Memtable): void {
    const i = this.frozen.indexOf(m)
    assert(i >= 0 && i === this.frozen.length - 1, 'the oldest frozen memtable is flushed first')
    this.frozen.splice(i, 1)
    this.#frozenBytes -= m.bytes
  }

  /** Starts over at `lsn` (after a bulk load into an empty tree). */
  reset(lsn: number): void {
    assert(this.isEmpty, 'reset of empty memtables only')
    this.active = new Memtable(undefined, [], 0, lsn)
    this.#tombstones = undefined
  }
}
