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

/**
 * Startup options of every connection the ingester opens (copy, stream, watermarks). Besides the
 * printing settings: `synchronous_commit=on`, so a watermark's commit flushes the WAL and the
 * WAL sender sends it at once (under `off` a chunk would wait for the WAL writer, ~200 ms).
 */
export const sessionOptions = '-c synchronous_commit=on -c DateStyle=ISO,MDY -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex -c client_encoding=UTF8'

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

const intOids = new Set([21, 23, 26])
const namePrefixes = new WeakMap<readonly ColumnType[], string[]>()

/**
 * The row as the JSON text stored as its value: the same text as `JSON.stringify` of the object
 * of `columnJson`s (a duplicate column name aside), built directly (the copy's hot path).
 */
export function rowJson(columns: readonly ColumnType[], values: readonly (string | null)[]): string {
  let prefixes = namePrefixes.get(columns)
  if (prefixes === undefined) {
    prefixes = columns.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`)
    namePrefixes.set(columns, prefixes)
  }
  let out = ''
  for (let i = 0; i < columns.length; i++) {
    const v = values[i] ?? null
    const type = columns[i]!.typeOid
    // An integer's text is its JSON; everything else goes through columnJson.
    out += prefixes[i]! + (v !== null && intOids.has(type) ? v : v === null ? 'null' : JSON.stringify(columnJson(type, v)))
  }
  return columns.length === 0 ? '{}' : `${out}}`
}

/** The JSON text of a row held as an object of column values (already JSON), in column order like `rowJson`. */
export function rowObjectJson(columns: readonly { name: string }[], row: Record<string, unknown>): string {
  let out = ''
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i]!.name
    out += `${i === 0 ? '{' : ','}${JSON.stringify(name)}:${JSON.stringify(row[name] ?? null)}`
  }
  return columns.length === 0 ? '{}' : `${out}}`
}
