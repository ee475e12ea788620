/**
 * The key of a source row: `schema.table`, a 0x00 byte, then the primary key as a type-tagged
 * tuple whose bytes sort like the values (for the common key types):
 * - int2, int4, int8, oid: tag 0x10 + 8 bytes big-endian two's complement with the sign bit
 *   flipped (so -1 < 0 < 1 bytewise);
 * - bool: tag 0x08 + one byte 0/1;
 * - uuid: tag 0x30 + its 16 bytes;
 * - NULL (only in a key of all columns): tag 0x01, first;
 * - text, varchar, char, name and every other type: tag 0x20 + the UTF-8 of its text with 0x00
 *   escaped as 0x00 0xFF, ended by 0x00 0x01; text sorts bytewise, i.e. like Postgres' "C"
 *   collation (numeric, dates and timestamps sort as their text, which is not numeric order).
 * Table names hold no 0x00, so `table + 0x00` prefixes exactly that table's rows and
 * [`table + 0x00`, `table + 0x01`) is its key range (a truncate deletes it).
 */
const encoder = new TextEncoder()

const intOids = new Set([20, 21, 23, 26])
const boolOid = 16
const uuidOid = 2950

export interface KeyColumn {
  typeOid: number
}

const prefixes = new Map<string, Uint8Array>()
/** Table names seen are few; their encoded prefixes are kept (bounded: a runaway cache is cleared). */
const prefixesMax = 10_000

export function tablePrefix(table: string): Uint8Array {
  let prefix = prefixes.get(table)
  if (prefix === undefined) {
    const name = encoder.encode(table)
    prefix = new Uint8Array(name.length + 1)
    prefix.set(name)
    if (prefixes.size >= prefixesMax) prefixes.clear()
    prefixes.set(table, prefix)
  }
  return prefix
}

/** [start, end) of every key of `table`. */
export function tableRange(table: string): { start: Uint8Array; end: Uint8Array } {
  const start = tablePrefix(table).slice()
  const end = start.slice()
  end[end.length - 1] = 1
  return { start, end }
}

export function encodeKey(table: string, columns: readonly KeyColumn[], values: readonly (string | null)[]): Uint8Array {
  const prefix = tablePrefix(table)
  if (columns.length === 1 && intOids.has(columns[0]!.typeOid) && values[0] !== null) {
    // The common case (one integer key column) in one allocation.
    const out = new Uint8Array(prefix.length + 9)
    out.set(prefix)
    writeInt(out, prefix.length, values[0]!)
    return out
  }
  const parts: Uint8Array[] = [prefix]
  for (let i = 0; i < columns.length; i++) parts.push(encodeKeyValue(columns[i]!.typeOid, values[i]!))
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const two32 = 2 ** 32

/** Tag 0x10 and the integer `text` as 8 bytes big-endian, sign bit flipped, at `at`. */
function writeInt(out: Uint8Array, at: number, text: string): void {
  out[at] = 0x10
  const n = Number(text)
  if (Number.isSafeInteger(n)) {
    const hi = (Math.floor(n / two32) ^ 0x8000_0000) >>> 0
    const lo = n >= 0 ? n % two32 : (n % two32) + two32
    out[at + 1] = hi >>> 24
    out[at + 2] = (hi >>> 16) & 0xff
    out[at + 3] = (hi >>> 8) & 0xff
    out[at + 4] = hi & 0xff
    out[at + 5] = Math.floor(lo / 0x100_0000) & 0xff
    out[at + 6] = (lo >>> 16) & 0xff
    out[at + 7] = (lo >>> 8) & 0xff
    out[at + 8] = lo & 0xff
  } else new DataView(out.buffer, out.byteOffset + at + 1, 8).setBigUint64(0, BigInt.asUintN(64, BigInt(text)) ^ (1n << 63n))
}

function encodeKeyValue(typeOid: number, text: string | null): Uint8Array {
  // Only a key of all columns (REPLICA IDENTITY FULL without a primary key) holds NULLs.
  if (text === null) return Uint8Array.of(0x01)
  if (intOids.has(typeOid)) {
    const out = new Uint8Array(9)
    writeInt(out, 0, text)
    return out
  }
  if (typeOid === boolOid) return Uint8Array.of(0x08, text === 't' ? 1 : 0)
  if (typeOid === uuidOid) {
    const hex = text.replaceAll('-', '')
    const out = new Uint8Array(17)
    out[0] = 0x30
    for (let i = 0; i < 16; i++) out[i + 1] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
    return out
  }
  const raw = encoder.encode(text)
  let zeros = 0
  for (const b of raw) if (b === 0) zeros++
  const out = new Uint8Array(1 + raw.length + zeros + 2)
  out[0] = 0x20
  let at = 1
  for (const b of raw) {
    out[at++] = b
    if (b === 0) out[at++] = 0xff
  }
  out[at++] = 0
  out[at] = 1
  return out
}
