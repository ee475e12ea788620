/**
 * Postgres WAL positions (LSNs) as bigints, and their text form `X/Y` (two hex halves), which
 * is how Postgres prints them and how the ingester stores them (bigints do not survive JSON).
 */
import { CairnError } from '../../io/errors.js'

export type PgLsn = bigint

export const zeroLsn: PgLsn = 0n

export function parseLsn(text: string): PgLsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text)
  if (m === null) throw new CairnError('INVALID_ARGUMENT', `not a Postgres LSN: ${JSON.stringify(text)} (expected X/Y in hex, e.g. 0/16B3748)`)
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`)
}

export function formatLsn(lsn: PgLsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

export function maxLsn(a: PgLsn, b: PgLsn): PgLsn {
  return a > b ? a : b
}
