/** Partitions and the store that owns them. */
export { Catalog, type CatalogData, type CatalogPartition } from './catalog.js'
export type { LogCut, LogCutFile } from '../log/index.js'
export {
  type BytesScanRange,
  Partition,
  type PartitionInfo,
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
export { Store, type StoreInfo, type StoreOptions } from './store.js'
export { StoreReader, type StoreReaderOptions } from './store-reader.js'
