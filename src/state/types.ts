/**
 * Shared shapes of the state engine. Keys and values are byte strings ordered by unsigned byte
 * comparison; every entry carries the LSN (sequence) of the record that wrote it, so that a
 * range tombstone only hides entries older than itself, wherever they live.
 */

export type StateOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'delete'; key: Uint8Array }
  /** Deletes every key in `[start, end)`. An empty or inverted range deletes nothing. */
  | { type: 'deleteRange'; start: Uint8Array; end: Uint8Array }

export interface ScanRange {
  gte?: Uint8Array
  gt?: Uint8Array
  lte?: Uint8Array
  lt?: Uint8Array
  reverse?: boolean
  limit?: number
}

/** A range deletion `[start, end)` written at LSN `seq`: hides entries with a lower seq. */
export interface RangeTombstone {
  start: Uint8Array
  end: Uint8Array
  seq: number
}

/** One version of one key: `value` undefined is a point tombstone (delete). */
export interface VersionedValue {
  seq: number
  value: Uint8Array | undefined
}

/** Scan bounds after normalisation: undefined key means unbounded on that side. */
export interface Bounds {
  lower: Uint8Array | undefined
  lowerInclusive: boolean
  upper: Uint8Array | undefined
  upperInclusive: boolean
}

export const compareBytes: (a: Uint8Array, b: Uint8Array) => number = Buffer.compare

export function boundsOf(range: ScanRange): Bounds {
  let lower: Uint8Array | undefined
  let lowerInclusive = true
  if (range.gte !== undefined) lower = range.gte
  if (range.gt !== undefined && (lower === undefined || compareBytes(range.gt, lower) >= 0)) {
    lower = range.gt
    lowerInclusive = false
  }
  let upper: Uint8Array | undefined
  let upperInclusive = true
  if (range.lte !== undefined) upper = range.lte
  if (range.lt !== undefined && (upper === undefined || compareBytes(range.lt, upper) <= 0)) {
    upper = range.lt
    upperInclusive = false
  }
  return { lower, lowerInclusive, upper, upperInclusive }
}

/** True when `key` is at or above the lower bound. */
export function aboveLower(b: Bounds, key: Uint8Array): boolean {
  if (b.lower === undefined) return true
  const c = compareBytes(key, b.lower)
  return c > 0 || (c === 0 && b.lowerInclusive)
}

/** True when `key` is at or below the upper bound. */
export function belowUpper(b: Bounds, key: Uint8Array): boolean {
  if (b.upper === undefined) return true
  const c = compareBytes(key, b.upper)
  return c < 0 || (c === 0 && b.upperInclusive)
}
