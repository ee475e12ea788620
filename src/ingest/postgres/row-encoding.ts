/**
 * A source row as the value of its KV entry: UTF-8 JSON text, column name -> value, made from the
 * text Postgres prints for each column (the copy and the stream use the same session settings,
 * see `sessionOptions`, so one row has one encoding whichever path brought it):
 * - NULL -> null; boolean -> true/false; int2, int4, oid, float4, float8 -> JSON numbers (a float
 *   that is NaN or +-Infinity -> its text);
 * - int8 and numeric -> strings (exact: a JSON number would lose digits);
 * - json, jsonb -> the JSON value itself;
 * - bytea -> `\x` + hex, as Postgres prints it (`bytea_output=hex`);
 * - arrays of those (one or more dimensions) -> JSON arrays of the element encoding;
 * - everything else (text, uuid, dates, timestamps, intervals, enums, ...) -> the text Postgres
 *   prints with DateStyle ISO and TimeZone UTC (e.g. `2026-12-01 20:37:22.5+00`).
 */

/** Startup options of every connection the ingester opens (copy, stream, watermarks). */
export const sessionOptions = '-c DateStyle=ISO,MDY -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex -c client_encoding=UTF8'

const boolOid = 16
const numberOids = new Set([21, 23, 26, 700, 701])
const jsonOids = new Set([114, 3802])

/** Array type oid -> element type oid, for the common types (others decode elements as text). */
const arrayElement: Record<number, number> = {
  1000: 16,
  1005: 21,
  1007: 23,
  1016: 20,
  1021: 700,
  1022: 701,
  1231: 1700,
  1009: 25,
  1015: 1043,
  1014: 1042,
  2951: 2950,
  199: 114,
  3807: 3802,
  1001: 17,
  1028: 26,
  1115: 1114,
  1185: 1184,
  1182: 1082,
}

/** The JSON value of one column's text. */
export function columnJson(typeOid: number, text: string | null): unknown {
  if (text === null) return null
  if (typeOid === boolOid) return text === 't'
  if (numberOids.has(typeOid)) {
    const n = Number(text)
    return Number.isFinite(n) ? n : text
  }
  if (jsonOids.has(typeOid)) return JSON.parse(text)
  const element = arrayElement[typeOid]
  if (element !== undefined) return parseArray(text, element)
  return text
}

/** Parses a Postgres array literal (`{1,2,"a b",NULL,{3}}`), elements encoded as `element` columns. */
export function parseArray(text: string, element: number): unknown {
  let at = 0
  // A leading dimension decoration (`[0:1]={...}`) is dropped: JSON arrays start at 0.
  if (text.startsWith('[')) at = text.indexOf('=') + 1
  const parse = (): unknown[] => {
    if (text[at] !== '{') throw new Error(`not an array literal: ${text}`)
    at++
    const out: unknown[] = []
    if (text[at] === '}') {
      at++
      return out
    }
    for (;;) {
      if (text[at] === '{') out.push(parse())
      else if (text[at] === '"') {
        at++
        let s = ''
        while (text[at] !== '"') {
          if (text[at] === '\\') at++
          s += text[at++]
        }
        at++
        out.push(columnJson(element, s))
      } else {
        let end = at
        while (text[end] !== ',' && text[end] !== '}') end++
        const raw = text.slice(at, end)
        at = end
        out.push(raw === 'NULL' ? null : columnJson(element, raw))
      }
      if (text[at] === ',') {
        at++
        continue
      }
      if (text[at] === '}') {
        at++
        return out
      }
      throw new Error(`malformed array literal: ${text}`)
    }
  }
  return parse()
}

export interface ColumnType {
  name: string
  typeOid: number
}

/** The row as the JSON text stored as its value. */
export function rowJson(columns: readonly ColumnType[], values: readonly (string | null)[]): string {
  const row: Record<string, unknown> = {}
  for (let i = 0; i < columns.length; i++) row[columns[i]!.name] = columnJson(columns[i]!.typeOid, values[i] ?? null)
  return JSON.stringify(row)
}
