/**
 * The store's figures and every partition's, for `Store.info()`, `cairn info` and the server's
 * status, opening no partition.
 *
 * Invariants:
 * - no partition is opened: an open one gives its live figures, one closed since the store
 *   opened the figures at its close, and any other what the catalog and one walk of its
 *   directory tell (looked at a few at a time, then remembered in `closedInfo`);
 * - a closed partition's figures are remembered as they are: nothing changes it while the store
 *   holds its lock (an open, a restore or an eviction replaces the entry).
 */
import type { FileSystem } from '../io/file-system.js'
import type { BlockCache } from '../state/index.js'
import type { Catalog } from './catalog.js'
import type { MemoryBudget } from './memory-budget.js'
import type { Partition } from './partition.js'
import type { PartitionPool } from './partition-pool.js'
import type { StoreLayout } from './store-layout.js'
import type { StoreLimits } from './store-limits.js'
import { type LookedAtEntry, lookAtPartitions, type StorePartitionInfo } from './store-partition-info.js'
import { lostAndFound } from './store-recovery.js'

export interface StoreInfo {
  dir: string
  storeId: string
  createdAtMs: number
  /**
   * Every partition, without opening any: live figures for open ones, the figures at its close
   * for one closed since the store opened, and for the others what the catalog and one walk of
   * its directory tell (see `StorePartitionInfo`).
   */
  partitions: StorePartitionInfo[]
  /** Directories moved aside into `<dir>/lost+found/` (orphans found at open): for a human to check. */
  lostAndFound: string[]
  /** Partitions open now, and the bound. */
  openPartitions: number
  openPartitionsMax: number
  /** Unflushed memtable bytes of all open partitions, and their bound (half the memory budget). */
  memtableBytes: number
  memtableBytesMax: number
  /** Bytes in the block cache all partitions share, and its capacity (the budget's other half). */
  blockCacheBytes: number
  blockCacheBytesMax: number
  memoryBytesMax: number
}

/** What a store hands `storeInfo`: its parts, read live. */
export interface StoreInfoSources {
  dir: string
  fs: FileSystem
  catalog: Catalog
  layout: StoreLayout
  pool: PartitionPool<Partition>
  /** Figures of closed partitions, filled in here as partitions are looked at. */
  closedInfo: Map<string, StorePartitionInfo>
  limits: StoreLimits
  budget: MemoryBudget
  blockCache: BlockCache
}

/**
 * @example
 * const info = await storeInfo({ dir, fs, catalog, layout, pool, closedInfo, limits, budget, blockCache })
 */
export async function storeInfo(store: StoreInfoSources): Promise<StoreInfo> {
  const { fs, catalog, layout, pool, closedInfo, limits } = store
  const data = catalog.data
  const ids = Object.keys(data.partitions).sort()
  const unknown = ids.filter((id) => pool.peek(id) === undefined && !closedInfo.has(id))
  const entryOf = (id: string): LookedAtEntry => {
    const entry = data.partitions[id]!
    const oldest = entry.logs[0]!
    return { logId: entry.activeLogId, dir: layout.partitionDir(id), oldestLogDir: layout.logDir(id, oldest.logId), oldestLogFirstLsn: oldest.firstLsn }
  }
  const looked = await lookAtPartitions(fs, unknown, entryOf)
  const partitions: StorePartitionInfo[] = []
  for (const id of ids) {
    const open = pool.peek(id)
    if (open !== undefined) {
      partitions.push({ ...open.info(), open: true })
      continue
    }
    // Not looked at only when it was open when the looks began and is closing now.
    const known =
      closedInfo.get(id) ??
      looked.get(id) ??
      (await lookAtPartitions(fs, [id], entryOf)).get(id)!
    // Remembered: a closed partition does not change while the store holds its lock.
    if (!closedInfo.has(id)) closedInfo.set(id, known)
    partitions.push(known)
  }
  return {
    dir: store.dir,
    storeId: data.storeId,
    createdAtMs: data.createdAtMs,
    partitions,
    lostAndFound: await lostAndFound(fs, store.dir),
    openPartitions: pool.size,
    openPartitionsMax: limits.openPartitionsMax,
    memtableBytes: store.budget.bytes,
    memtableBytesMax: limits.memtablesBytesMax,
    blockCacheBytes: store.blockCache.bytes,
    blockCacheBytesMax: limits.blockCacheBytesMax,
    memoryBytesMax: limits.memoryBytesMax,
  }
}
