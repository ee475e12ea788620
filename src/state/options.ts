/**
 * The state tree's options: defaults, and the bounds every option is checked against when a
 * tree opens. A value given by the user outside its bounds is `INVALID_CONFIG` naming the
 * option, the value and the bounds (never a crash, never a silently clamped value).
 *
 * Invariants of the resolved options (what the rest of the tree may rely on): every number is
 * finite and within `stateOptionBounds`; a table's blocks stay below the block cache's key span
 * (`tableBlockCountMax`), since neither a flushed memtable nor a compaction output holds more
 * than `max(memtableBytesMax, tableBytesTarget) / blockBytes` blocks, plus slack.
 */
import { CairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { type CompactionOptions, rangeTombstoneCountTriggerDefault } from './compaction.js'
import { BlockCache, tableBlockCountMax } from './table/index.js'

export const memtableBytesMaxDefault = 64 * 1024 * 1024
export const blockCacheBytesMaxDefault = 64 * 1024 * 1024
export const blockBytesDefault = 4 * 1024
export const tableBytesTargetDefault = 32 * 1024 * 1024
export const level0TableCountTriggerDefault = 4
export const level1BytesMaxDefault = 256 * 1024 * 1024
export const levelBytesMultiplierDefault = 10
export const compactionSliceMsDefault = 4

const gibibyte = 1024 * 1024 * 1024

/** Inclusive bounds of each numeric option. */
export const stateOptionBounds = {
  memtableBytesMax: { min: 1024, max: 4 * gibibyte },
  blockCacheBytesMax: { min: 0, max: 1024 * gibibyte },
  blockBytes: { min: 64, max: 16 * 1024 * 1024 },
  tableBytesTarget: { min: 1024, max: 16 * gibibyte },
  level0TableCountTrigger: { min: 1, max: 1000 },
  level1BytesMax: { min: 1024, max: 1024 * 1024 * gibibyte },
  levelBytesMultiplier: { min: 2, max: 1000 },
  compactionSliceMs: { min: 1, max: 60_000 },
  rangeTombstoneCountTrigger: { min: 1, max: 10_000_000 },
} as const

export interface StateOptions {
  fs: FileSystem
  /** Directory owned by this tree; created if missing. */
  dir: string
  /** Memtable size (approximate bytes) at which `needsFlush()` turns true. Default 64 MiB. */
  memtableBytesMax?: number
  /** Block cache capacity in bytes, when the tree makes its own cache (no `blockCache`). Default 64 MiB. */
  blockCacheBytesMax?: number
  /**
   * A block cache shared with other trees (the store's one cache for all partitions): the tree
   * uses it and does not own it (`blockCacheBytesMax` is then ignored). Absent: the tree makes
   * its own.
   */
  blockCache?: BlockCache
  /** Target data block size in bytes. Default 4 KiB. */
  blockBytes?: number
  /** Target size of a compaction output table in bytes. Default 32 MiB. */
  tableBytesTarget?: number
  /** L0 table count that triggers an L0 -> L1 compaction. Default 4. */
  level0TableCountTrigger?: number
  /** Size of level 1 in bytes before it is compacted down; level l holds this * multiplier^(l-1). Default 256 MiB. */
  level1BytesMax?: number
  /** Growth factor between levels. Default 10. */
  levelBytesMultiplier?: number
  /** Longest stretch a compaction or flush runs on the event loop before yielding, in ms. Default 4. */
  compactionSliceMs?: number
  /**
   * Flushed range tombstone fragments at which compaction reclaims them all (and the data they
   * cover), so lookups, the manifest and dead data stay bounded. Default 1024.
   */
  rangeTombstoneCountTrigger?: number
  /** Run due compactions in the background after each flush. Default true. */
  autoCompact?: boolean
  /**
   * Open the tree of a store another process owns and writes: read its manifest and tables,
   * write nothing. `apply` still works (into memory: the caller replays the log over the
   * tables); `flush`, `flushFrozen`, `compact` and `bulkLoad` fail with `READ_ONLY`, and
   * `needsFlush()` stays false. Default false.
   */
  readOnly?: boolean
  /**
   * Skip the recovery fsyncs of the open (the manifest's, the directory's and its parent's): only
   * for a tree THIS process closed cleanly (no flush or compaction of it failed) and nothing
   * touched since. Those fsyncs make durable a manifest a previous process renamed into place and
   * died before fsyncing; in this process every manifest was written temp, fsync, rename, fsync
   * dir before it became current, and a failure of any of those marks the tree `faulted`, so an
   * owner that trusts only unfaulted closes never skips a needed fsync. Default false.
   */
  trustedClean?: boolean
}

/** Every option with its default filled in, checked. */
export interface ResolvedStateOptions {
  fs: FileSystem
  dir: string
  memtableBytesMax: number
  blockCacheBytesMax: number
  blockCache: BlockCache | undefined
  blockBytes: number
  tableBytesTarget: number
  level0TableCountTrigger: number
  level1BytesMax: number
  levelBytesMultiplier: number
  compactionSliceMs: number
  rangeTombstoneCountTrigger: number
  autoCompact: boolean
  readOnly: boolean
  trustedClean: boolean
}

type NumericOption = keyof typeof stateOptionBounds

function invalid(message: string, context: Record<string, string | number>): CairnError {
  return new CairnError('INVALID_CONFIG', message, { context })
}

function numberOption(options: StateOptions, name: NumericOption, fallback: number, integer: boolean): number {
  const given = options[name]
  if (given === undefined) return fallback
  const { min, max } = stateOptionBounds[name]
  if (typeof given !== 'number' || !Number.isFinite(given) || (integer && !Number.isInteger(given)) || given < min || given > max) {
    throw invalid(`state option ${name} is ${String(given)}: give ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, {
      option: name,
      value: String(given),
      min,
      max,
    })
  }
  return given
}

function booleanOption(options: StateOptions, name: 'autoCompact' | 'readOnly' | 'trustedClean', fallback: boolean): boolean {
  const given = options[name]
  if (given === undefined) return fallback
  if (typeof given !== 'boolean') throw invalid(`state option ${name} is ${String(given)}: give true or false`, { option: name, value: String(given) })
  return given
}

/**
 * Fills in defaults and checks every option against its bounds.
 *
 * @example
 * resolveStateOptions({ fs, dir: '/s', blockBytes: 10 }) // throws INVALID_CONFIG: blockBytes from 64 to 16777216
 */
export function resolveStateOptions(options: StateOptions): ResolvedStateOptions {
  if (typeof options.dir !== 'string' || options.dir.length === 0) throw invalid('state option dir is empty: give the directory of the state tree', { option: 'dir' })
  if (typeof options.fs !== 'object' || options.fs === null) throw invalid('state option fs is missing: give a FileSystem', { option: 'fs' })
  if (options.blockCache !== undefined && !(options.blockCache instanceof BlockCache)) {
    throw invalid('state option blockCache is not a BlockCache: give one made with new BlockCache(bytes)', { option: 'blockCache' })
  }
  const resolved: ResolvedStateOptions = {
    fs: options.fs,
    dir: options.dir,
    memtableBytesMax: numberOption(options, 'memtableBytesMax', memtableBytesMaxDefault, true),
    blockCacheBytesMax: numberOption(options, 'blockCacheBytesMax', blockCacheBytesMaxDefault, true),
    blockCache: options.blockCache,
    blockBytes: numberOption(options, 'blockBytes', blockBytesDefault, true),
    tableBytesTarget: numberOption(options, 'tableBytesTarget', tableBytesTargetDefault, true),
    level0TableCountTrigger: numberOption(options, 'level0TableCountTrigger', level0TableCountTriggerDefault, true),
    level1BytesMax: numberOption(options, 'level1BytesMax', level1BytesMaxDefault, true),
    levelBytesMultiplier: numberOption(options, 'levelBytesMultiplier', levelBytesMultiplierDefault, false),
    compactionSliceMs: numberOption(options, 'compactionSliceMs', compactionSliceMsDefault, false),
    rangeTombstoneCountTrigger: numberOption(options, 'rangeTombstoneCountTrigger', rangeTombstoneCountTriggerDefault, true),
    autoCompact: booleanOption(options, 'autoCompact', true),
    readOnly: booleanOption(options, 'readOnly', false),
    trustedClean: booleanOption(options, 'trustedClean', false),
  }
  // Half the key span: a table overshoots its target by up to one entry (a value is up to 16 MiB).
  const blocksPerTable = Math.max(resolved.memtableBytesMax, resolved.tableBytesTarget) / resolved.blockBytes
  if (blocksPerTable > tableBlockCountMax / 2) {
    throw invalid(
      `state options memtableBytesMax and tableBytesTarget over blockBytes give tables of ${Math.ceil(blocksPerTable)} blocks, over ${tableBlockCountMax / 2}: raise blockBytes or lower them`,
      { option: 'blockBytes', value: resolved.blockBytes },
    )
  }
  return resolved
}

/** The compaction policy's share of the options (compaction.ts). */
export function compactionOptionsOf(options: ResolvedStateOptions): CompactionOptions {
  return {
    level0TableCountTrigger: options.level0TableCountTrigger,
    level1BytesMax: options.level1BytesMax,
    levelBytesMultiplier: options.levelBytesMultiplier,
    tableBytesTarget: options.tableBytesTarget,
    blockBytes: options.blockBytes,
    compactionSliceMs: options.compactionSliceMs,
    rangeTombstoneCountTrigger: options.rangeTombstoneCountTrigger,
  }
}
