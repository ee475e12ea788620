/**
 * A row of the source as it is now, by key, encoded like a copied row: what an update with an
 * unchanged TOAST value falls back on when cairn has no row to take the value from.
 *
 * Invariants:
 * - every column of the table, in its order, through the same text-to-JSON encoding as the copy
 *   and the stream (row-encoding.ts);
 * - `undefined` when the source has no row with that key any more (never an empty row).
 */
import type pg from 'pg'
import { columnJson } from './row-encoding.js'
import { ident, quoteTable, type SourceTable } from './source.js'

/**
 * @example
 * const row = await fetchSourceRow(control, table, ['42'])
 */
export async function fetchSourceRow(client: pg.Client, table: SourceTable, key: (string | null)[]): Promise<Record<string, unknown> | undefined> {
  const where = table.keyColumns.map((k, i) => `${ident(k)} = $${i + 1}`).join(' AND ')
  const r = await client.query<(string | null)[]>({
    text: `SELECT ${table.columns.map((c) => ident(c.name)).join(', ')} FROM ${quoteTable(table.name)} WHERE ${where}`,
    values: key,
    rowMode: 'array',
  })
  const row = r.rows[0]
  if (row === undefined) return undefined
  const out: Record<string, unknown> = {}
  for (const [i, c] of table.columns.entries()) out[c.name] = columnJson(c.typeOid, row[i] ?? null)
  return out
}
