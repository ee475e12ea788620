/**
 * A relation as the replication stream describes it, joined with the table cairn ingests: how a
 * tuple of the stream becomes a cairn key and a row.
 *
 * Invariants:
 * - a relation is joined only with a table whose key columns it publishes (else
 *   `SOURCE_TABLE_UNSUPPORTED`);
 * - a key is made only from the key columns' values: a key column that is an unchanged TOAST
 *   value, or null without REPLICA IDENTITY FULL, is `SOURCE_TABLE_UNSUPPORTED`, never a guess;
 * - a row has every column of the relation, in its order; an unchanged TOAST value takes the
 *   fallback row's value (undefined without one), never null in its place.
 */
import { CairnError } from '../../io/errors.js'
import { encodeKey } from './key-encoding.js'
import { type ColumnValue, type RelationMessage, unchangedToast } from './pgoutput.js'
import { columnJson } from './row-encoding.js'
import type { SourceTable } from './source.js'

export interface SourceRelation {
  message: RelationMessage
  table: SourceTable
  /** Index in the relation's columns of each key column. */
  keyIndex: number[]
}

/** Joins a relation of the stream with its table; a relation without the table's key columns is refused. */
export function sourceRelation(message: RelationMessage, table: SourceTable): SourceRelation {
  const keyIndex = table.keyColumns.map((k) => message.columns.findIndex((c) => c.name === k))
  if (keyIndex.some((i) => i < 0)) {
    throw new CairnError('SOURCE_TABLE_UNSUPPORTED', `table ${table.name} no longer publishes its key columns (${table.keyColumns.join(', ')}): restart the ingester`, {
      context: { table: table.name },
    })
  }
  return { message, table, keyIndex }
}

/**
 * The cairn key of a tuple of `rel` (`what` names the change in the error).
 *
 * @example
 * const key = relationKey(rel, msg.newTuple, 'insert')
 */
export function relationKey(rel: SourceRelation, tuple: ColumnValue[], what = 'change'): Uint8Array {
  const values: (string | null)[] = []
  for (const i of rel.keyIndex) {
    const v = tuple[i]
    if (v === unchangedToast || (v === null && rel.table.replicaIdentity !== 'full')) {
      throw new CairnError(
        'SOURCE_TABLE_UNSUPPORTED',
        `a ${what} of table ${rel.table.name} does not carry its key (${rel.table.keyColumns.join(', ')}); its REPLICA IDENTITY is ${rel.message.replicaIdentity}: give the table a primary key or set REPLICA IDENTITY FULL`,
        { context: { table: rel.table.name } },
      )
    }
    values.push(v ?? null)
  }
  return encodeKey(
    rel.table.name,
    rel.keyIndex.map((i) => ({ typeOid: rel.message.columns[i]!.typeOid })),
    values,
  )
}

/** The row of a tuple of `rel`, by column name; unchanged TOAST values from `fallback`. */
export function relationRow(rel: SourceRelation, tuple: ColumnValue[], fallback?: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  for (const [i, col] of rel.message.columns.entries()) {
    const v = tuple[i]
    row[col.name] = v === unchangedToast ? fallback?.[col.name] : columnJson(col.typeOid, v ?? null)
  }
  return row
}
