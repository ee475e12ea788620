/**
 * Ranges of `get`: `start` to `end` exclusive, clamped to the object, so every store answers the
 * same for any range (S3 itself answers 416 for a range starting past the end; the S3 store turns
 * that into an empty read too).
 */
import type { ByteRange } from './object-store.js'
import { invalidArgument } from './object-store-errors.js'

/** Throws `INVALID_ARGUMENT` for a range no object could satisfy (negative, reversed, fractional). */
export function validateByteRange(range: ByteRange, url: string, key: string): void {
  const { start, end } = range
  if (!Number.isSafeInteger(start) || start < 0) throw invalidArgument(url, `range start must be an integer >= 0, got ${start}`, { key })
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw invalidArgument(url, `range end must be an integer >= its start ${start}, got ${end}`, { key })
  }
}

/** The part of an object of `size` bytes that `range` covers: `[start, end)` with `start <= end <= size`. */
export function clampByteRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size }
  const start = Math.min(range.start, size)
  const end = Math.min(range.end ?? size, size)
  return { start, end: Math.max(start, end) }
}
