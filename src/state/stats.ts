/**
 * The state tree's counters: sizes of levels and memtables, write and space amplification,
 * block cache use. Computed on demand from the tree's parts (nothing here is on a hot path).
 */
import { type CompactionOptions, levelBytesMax } from './compaction.js'
import type { BlockCache } from './table/index.js'
import { levelCount, type Version } from './version.js'

export interface LevelStats {
  level: number
  tableCount: number
  bytes: number
  bytesMax: number
}

export interface StateStats {
  appliedLsn: number
  durableLsn: number
  tableCount: number
  tableBytes: number
  memtableBytes: number
  frozenMemtableBytes: number
  frozenMemtableCount: number
  /** Range tombstone fragments in the memtables and the version (overlapping deleteRanges are cut into non-overlapping pieces). */
  rangeTombstoneCount: number
  levels: LevelStats[]
  /** Key and value bytes passed to apply() (the logical write volume). */
  bytesApplied: number
  bytesWrittenFlush: number
  bytesWrittenCompaction: number
  /** (flush + compaction bytes) / applied bytes. */
  writeAmplification: number
  flushCount: number
  compactionCount: number
  /** Of the tree's block cache: when it is shared (`StateOptions.blockCache`), the figures are the whole cache's. */
  blockCacheBytes: number
  blockCacheHits: number
  blockCacheMisses: number
  /** Bytes of index and bloom filters in memory. */
  tableMemoryBytes: number
  /** Table files kept only because a snapshot, scan or retained version pins them. */
  pinnedObsoleteTableCount: number
}

/** What the tree counts as it writes. */
export interface WriteCounters {
  bytesApplied: number
  bytesWrittenFlush: number
  bytesWrittenCompaction: number
  flushCount: number
  compactionCount: number
}

export interface StatsSources {
  version: Version
  compaction: CompactionOptions
  cache: BlockCache
  counters: WriteCounters
  appliedLsn: number
  memtableBytes: number
  frozenMemtableBytes: number
  frozenMemtableCount: number
  rangeTombstoneCount: number
  pinnedObsoleteTableCount: number
}

export function stateStats(s: StatsSources): StateStats {
  const v = s.version
  let tableBytes = 0
  let tableMemoryBytes = 0
  const levels: LevelStats[] = []
  for (let l = 0; l < levelCount; l++) {
    const bytes = v.levelBytes(l)
    tableBytes += bytes
    for (const t of v.levels[l]!) tableMemoryBytes += t.memoryBytes
    levels.push({ level: l, tableCount: v.levels[l]!.length, bytes, bytesMax: l === 0 ? 0 : levelBytesMax(s.compaction, l) })
  }
  const c = s.counters
  const written = c.bytesWrittenFlush + c.bytesWrittenCompaction
  return {
    appliedLsn: s.appliedLsn,
    durableLsn: v.durableLsn,
    tableCount: v.tableCount,
    tableBytes,
    memtableBytes: s.memtableBytes,
    frozenMemtableBytes: s.frozenMemtableBytes,
    frozenMemtableCount: s.frozenMemtableCount,
    rangeTombstoneCount: s.rangeTombstoneCount,
    levels,
    bytesApplied: c.bytesApplied,
    bytesWrittenFlush: c.bytesWrittenFlush,
    bytesWrittenCompaction: c.bytesWrittenCompaction,
    writeAmplification: c.bytesApplied === 0 ? 0 : written / c.bytesApplied,
    flushCount: c.flushCount,
    compactionCount: c.compactionCount,
    blockCacheBytes: s.cache.bytes,
    blockCacheHits: s.cache.hits,
    blockCacheMisses: s.cache.misses,
    tableMemoryBytes,
    pinnedObsoleteTableCount: s.pinnedObsoleteTableCount,
  }
}
