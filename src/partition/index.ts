/** Partitions and the store that owns them. */
export { Catalog, type CatalogData, type CatalogLog, type CatalogPartition, catalogVersion } from './catalog.js'
export type { LogCut, LogCutFile } from '../log/index.js'
export {
  type BytesScanRange,
  Partition,
  type PartitionInfo,
  type PartitionOptions,
  type PartitionSettings,
  type Payload,
  payloadRecordType,
  type ReplicatedRecord,
  type RetainedFile,
  type RetainedState,
  type StateOpInput,
  type TrimHoldInfo,
  type WriteBatch,
} from './partition.js'
export { type Bytes, type Reducer, type ReducerTx, toBytes } from './reducer.js'
export { decodeStateBatch, encodeStateBatch, type StateBatch, stateRecordType } from './state-record.js'
export { decodeEntry, type PartitionEntry } from './partition-entry.js'
export { assertPartitionId, isPartitionId, partitionIdPattern } from './partition-id.js'
export { Store, type StoreOptions } from './store.js'
export type { PartitionRecovery } from './partition-recovery.js'
export type { StoreInfo } from './store-info.js'
export { ReadOnlyPartition, type ReadOnlyPartitionInfo, readOnlyPartitionAttemptsMax } from './read-only-partition.js'
export { StoreReader, type StoreReaderInfo, type StoreReaderOptions, type StoreReaderPartition } from './store-reader.js'
// What the faces (CLI, server) need from the layers below, so they import only this layer.
export {
  type LogEntry,
  checkRecordBytes,
  recordBytesMaxDefault,
} from '../log/index.js'
export {
  keyBytesMax,
  type ReadSnapshot,
  type ScanRange,
  type StateOp,
  type StateStats,
  validateKey,
  validateStateOps,
  validateValue,
  valueBytesMax,
} from '../state/index.js'
export type { RestorePartitionInput } from './store-restore.js'
export { checkpointManifestFileName, StoreLayout } from './store-layout.js'
export { memoryBytesMaxDefault, memoryBytesMaxLimit, memoryBytesMin, openPartitionsMaxDefault, openPartitionsMaxLimit } from './store-limits.js'
export { hasPartitionFigures, type StorePartitionInfo, type UnopenedPartitionInfo } from './store-partition-info.js'
