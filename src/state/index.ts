/** The state engine: each partition's ordered key-value state as an LSM tree with read snapshots. */
export { keyBytesMax, validateKey, validateStateOps, validateValue, valueBytesMax } from './limits.js'
export {
  blockBytesDefault,
  blockCacheBytesMaxDefault,
  type LevelStats,
  LsmTree,
  memtableBytesMaxDefault,
  type RetainedVersion,
  type StateOptions,
  type StateStats,
} from './lsm-tree.js'
export { BlockCache } from './block-cache.js'
export { ReadSnapshot } from './read-snapshot.js'
export { copyBytes, type ScanRange, type StateOp } from './types.js'
