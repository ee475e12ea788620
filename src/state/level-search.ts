/**
 * Binary search over a sorted, non-overlapping level (L1 and below): tables are in key order and
 * each one's keys lie in [smallest, largest].
 */
import type { Table } from './table/index.js'
import { compareBytes } from './types.js'

/** Index of the first table whose largest key is >= `key` (`tables.length` if none). */
export function firstTableReaching(tables: readonly Table[], key: Uint8Array): number {
  let lo = 0
  let hi = tables.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareBytes(tables[mid]!.info.largest, key) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
