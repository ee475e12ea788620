/** The state engine: each partition's ordered key-value state as an LSM tree with read snapshots. */
export { keyBytesMax, keyBytesMin, validateKey, validateStateOps, validateValue, valueBytesMax } from './limits.js'
export { LsmTree } from './lsm-tree.js'
export {
  blockBytesDefault,
  blockCacheBytesMaxDefault,
  memtableBytesMaxDefault,
  type StateOptions,
  stateOptionBounds,
} from './options.js'
export { ReadSnapshot } from './read-snapshot.js'
export type { LevelStats, StateStats } from './stats.js'
export { BlockCache, type TableInfo, tableFileName, tableFilePattern } from './table/index.js'
export { decodeManifest, type ManifestData, type ManifestTable, manifestFileName } from './manifest.js'
export { verifyTableFile } from './verify-table.js'
export { copyBytes, type ScanRange, type StateOp } from './types.js'
export type { RetainedTable, RetainedVersion } from './version-set.js'
