/**
 * The store's resource bounds and how its memory budget is split.
 *
 * - `memoryBytesMax` (default 256 MiB) is the store's memory for state: half is the bound on
 *   the sum of all open partitions' unflushed memtables (memory-budget.ts), half the one block
 *   cache every partition's tables share (LRU by bytes).
 * - `memtableBytesMax`, per partition as before, is now a cap within the budget: a partition
 *   flushes once its own memtable reaches it (default: 64 MiB or the memtable half, whichever
 *   is smaller; a larger value is lowered to the memtable half).
 * - `blockCacheBytesMax`, per partition before, now bounds the shared cache further when given
 *   (the cache gets the smaller of it and the cache half).
 * - `openPartitionsMax` (default 256) bounds the partitions open at once.
 *
 * Invariants: every bound is a safe integer within its range, else INVALID_CONFIG (a message
 * naming the option and its range); the two halves sum to `memoryBytesMax`.
 */
import { CairnError } from '../io/errors.js'
import { blockCacheBytesMaxDefault, memtableBytesMaxDefault } from '../state/index.js'

export const memoryBytesMaxDefault = 256 * 1024 * 1024
/** Below this a memtable share could not hold even a few ordinary records. */
export const memoryBytesMin = 2 * 1024 * 1024
export const memoryBytesMaxLimit = 2 ** 50
export const openPartitionsMaxDefault = 256
export const openPartitionsMaxLimit = 1_000_000
/**
 * A partition closed to make room is flushed first when it holds at least this many unflushed
 * bytes: its reopen then replays at most about this much of its log, and its log can be trimmed.
 */
export const evictFlushBytesMin = 1024 * 1024

export interface StoreLimitOptions {
  memoryBytesMax?: number
  openPartitionsMax?: number
  memtableBytesMax?: number
  blockCacheBytesMax?: number
}

export interface StoreLimits {
  memoryBytesMax: number
  /** Bound on the sum of all open partitions' unflushed memtable bytes. */
  memtablesBytesMax: number
  /** Capacity of the block cache all partitions share. */
  blockCacheBytesMax: number
  /** Each partition's own memtable cap. */
  partitionMemtableBytesMax: number
  openPartitionsMax: number
}

/** The store's limits from its options, bounds checked. */
export function resolveStoreLimits(options: StoreLimitOptions): StoreLimits {
  const memoryBytesMax = bounded('memoryBytesMax', options.memoryBytesMax, memoryBytesMaxDefault, memoryBytesMin, memoryBytesMaxLimit)
  const openPartitionsMax = bounded('openPartitionsMax', options.openPartitionsMax, openPartitionsMaxDefault, 1, openPartitionsMaxLimit)
  const memtablesBytesMax = Math.floor(memoryBytesMax / 2)
  const cacheShare = memoryBytesMax - memtablesBytesMax
  const memtableCap = bounded('memtableBytesMax', options.memtableBytesMax, memtableBytesMaxDefault, 1, memoryBytesMaxLimit)
  const cacheCap = bounded('blockCacheBytesMax', options.blockCacheBytesMax, blockCacheBytesMaxDefault, 0, memoryBytesMaxLimit)
  return {
    memoryBytesMax,
    memtablesBytesMax,
    blockCacheBytesMax: options.blockCacheBytesMax === undefined ? cacheShare : Math.min(cacheShare, cacheCap),
    partitionMemtableBytesMax: Math.min(memtableCap, memtablesBytesMax),
    openPartitionsMax,
  }
}

function bounded(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CairnError('INVALID_CONFIG', `${name} must be an integer from ${min} to ${max} (got ${String(value)}): fix the store's options`, {
      context: { option: name, value: String(value), min, max },
    })
  }
  return value
}
