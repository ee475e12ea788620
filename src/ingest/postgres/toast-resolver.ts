/**
 * The row an update writes when the stream leaves columns out (unchanged TOAST values): pgoutput
 * sends `u` for a TOASTed column the update did not change, and that value must be merged from
 * somewhere, never written as null.
 *
 * Invariants:
 * - an unchanged value is taken, in order, from the old row when the stream sent it whole
 *   (REPLICA IDENTITY FULL: old tuple 'O' with no `u` in it), else from the row as cairn has it
 *   (what is written plus the write being built), else from the source's current row;
 * - a row written with columns no source could give (a transaction replayed over its own partial
 *   write) is remembered with those columns, so the next update of that row asks the source
 *   again instead of carrying the missing value on; any whole write of the row forgets it.
 */
import { type ColumnValue, unchangedToast } from './pgoutput.js'
import type { SourceTable } from './source.js'
import { relationRow, type SourceRelation } from './source-relation.js'

/** A row by column name, as the row encoder takes it. */
type Row = Record<string, unknown>

export interface ToastResolverOptions {
  /** The row `key` has in cairn (written, plus the write being built), if any. */
  stored: (key: Uint8Array) => Promise<Row | undefined>
  /** The source's current row by key values, if it still has it. */
  fetchRow: (table: SourceTable, key: (string | null)[]) => Promise<Row | undefined>
}

/** One change of an update, decoded: the tuples, and the keys the applier made of them. */
export interface UpdateTuples {
  oldKind: 'K' | 'O' | undefined
  oldTuple: ColumnValue[] | undefined
  newTuple: ColumnValue[]
  /** The new tuple with key columns left out taken from the old one. */
  keyTuple: ColumnValue[]
  oldKey: Uint8Array
  /** Key strings (`keyString`) of the old and new key. */
  oldK: string
  newK: string
}

/**
 * @example
 * const toast = new ToastResolver({ stored: (key) => readRow(key), fetchRow })
 * const row = await toast.updatedRow(rel, tuples)
 */
export class ToastResolver {
  readonly #o: ToastResolverOptions
  /** Rows written with unchanged TOAST columns that had no value to take (key string -> columns); rare. */
  readonly #unresolved = new Map<string, Set<string>>()

  constructor(options: ToastResolverOptions) {
    this.#o = options
  }

  /** The row at `k` was written whole (or deleted): nothing of it is missing any more. */
  forget(k: string): void {
    if (this.#unresolved.size > 0) this.#unresolved.delete(k)
  }

  /** The row the update writes at its new key, unchanged TOAST values merged in. */
  async updatedRow(rel: SourceRelation, u: UpdateTuples): Promise<Row> {
    let row: Row
    if (u.newTuple.includes(unchangedToast)) {
      // A key tuple 'K' holds only the key: its other columns are nulls that mean nothing.
      let base: Row | undefined
      if (u.oldKind === 'O' && u.oldTuple !== undefined && !u.oldTuple.includes(unchangedToast)) base = relationRow(rel, u.oldTuple)
      base ??= await this.#o.stored(u.oldKey)
      // Columns the base cannot give: absent, or themselves written without a value (see below).
      const unknown = this.#unresolved.get(u.oldK)
      const missing = rel.message.columns.filter((c, i) => u.newTuple[i] === unchangedToast && (base === undefined || !(c.name in base) || unknown?.has(c.name))).map((c) => c.name)
      if (missing.length > 0) {
        const current = await this.#o.fetchRow(
          rel.table,
          rel.keyIndex.map((i) => u.keyTuple[i] as string | null),
        )
        if (current !== undefined) {
          base = { ...base }
          for (const name of missing) base[name] = current[name]
          missing.length = 0
        }
      }
      row = relationRow(rel, u.newTuple, base)
      // A transaction replayed on top of its own partial write (it spanned writes and the
      // ingester stopped inside it) can find neither the old row nor the new one in the source:
      // remember which columns were written as null for lack of a value, so a later update of
      // that row asks the source again instead of carrying the null on.
      if (missing.length > 0) this.#unresolved.set(u.newK, new Set(missing))
      else this.#unresolved.delete(u.newK)
    } else {
      row = relationRow(rel, u.newTuple)
      this.#unresolved.delete(u.newK)
    }
    if (u.oldK !== u.newK) this.#unresolved.delete(u.oldK)
    return row
  }
}
