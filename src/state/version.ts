/**
 * A version: one immutable set of live tables arranged in levels, the flushed range tombstones
 * (fragmented: sorted, non-overlapping, see range-tombstones.ts) and the durable LSN they
 * represent. Readers pin a version (`ref`) for as long as they read; the tree holds one ref on
 * its current version.
 *
 * Invariants:
 * - levels[0] is ordered newest first (tables may overlap); levels[i > 0] are sorted by key and
 *   do not overlap; for any key, a version found in a lower-numbered level (or earlier in L0)
 *   is newer than one found further down;
 * - each table's `refs` counts the live versions holding it (plus direct pins); a table whose
 *   count reaches zero is no longer reachable and its file may be deleted (`onTableReleased`);
 * - `durableLsn`: every effect of every LSN <= durableLsn is in these tables and tombstones.
 */
import { assert } from '../io/assert.js'
import { isFragmented } from './range-tombstones.js'
import type { Table } from './table/index.js'
import { compareBytes, type RangeTombstone } from './types.js'

export const levelCount = 7

export class Version {
  readonly levels: readonly (readonly Table[])[]
  readonly tombstones: readonly RangeTombstone[]
  readonly durableLsn: number
  readonly nextTableId: number
  readonly #onTableReleased: (t: Table) => void
  #refs = 0
  #released = false

  constructor(
    levels: readonly (readonly Table[])[],
    tombstones: readonly RangeTombstone[],
    durableLsn: number,
    nextTableId: number,
    onTableReleased: (t: Table) => void,
  ) {
    assert(levels.length === levelCount, 'a version has every level')
    for (let l = 1; l < levelCount; l++) {
      const tables = levels[l]!
      for (let i = 1; i < tables.length; i++) {
        assert(compareBytes(tables[i - 1]!.info.largest, tables[i]!.info.smallest) < 0, `level ${l} tables do not overlap`)
      }
    }
    assert(isFragmented(tombstones), 'version tombstones are fragmented')
    this.levels = levels
    this.tombstones = tombstones
    this.durableLsn = durableLsn
    this.nextTableId = nextTableId
    this.#onTableReleased = onTableReleased
    for (const t of this.tables()) t.refs++
  }

  *tables(): IterableIterator<Table> {
    for (const level of this.levels) yield* level
  }

  get tableCount(): number {
    let n = 0
    for (const level of this.levels) n += level.length
    return n
  }

  levelBytes(level: number): number {
    let n = 0
    for (const t of this.levels[level]!) n += t.info.bytes
    return n
  }

  ref(): this {
    assert(!this.#released, 'ref of a released version')
    this.#refs++
    return this
  }

  unref(): void {
    assert(this.#refs > 0, 'version unref without ref')
    this.#refs--
    if (this.#refs > 0) return
    this.#released = true
    for (const t of this.tables()) {
      t.refs--
      assert(t.refs >= 0, 'table refs never go negative')
      if (t.refs === 0) this.#onTableReleased(t)
    }
  }
}

/** Tables of `tables` (sorted, non-overlapping) whose key range meets [smallest, largest]. */
export function overlapping(tables: readonly Table[], smallest: Uint8Array, largest: Uint8Array): Table[] {
  return tables.filter((t) => compareBytes(t.info.largest, smallest) >= 0 && compareBytes(t.info.smallest, largest) <= 0)
}
