/**
 * The paging rules of `list` every store shares: a page size in `1..listPageKeysMax` (default
 * the maximum), a cursor that is the last key of the previous page.
 */
import { listPageKeysMax, type ListOptions } from './object-store.js'
import { invalidArgument } from './object-store-errors.js'

/** The page size to use: `limit` capped at `listPageKeysMax`; `INVALID_ARGUMENT` unless a positive integer. */
export function listLimitOf(options: ListOptions | undefined, url: string): number {
  const limit = options?.limit
  if (limit === undefined) return listPageKeysMax
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalidArgument(url, `list limit must be a positive integer, got ${limit}`)
  return Math.min(limit, listPageKeysMax)
}
