/** Partitions and the store that owns them. */
export { Catalog, type CatalogData, type CatalogPartition } from './catalog.js'
export {
  type BytesScanRange,
  Partition,
  type PartitionInfo,
  type Payload,
  payloadRecordType,
  type StateOpInput,
  type WriteBatch,
} from './partition.js'
export { type Bytes, type Reducer, type ReducerTx, toBytes } from './reducer.js'
export { decodeStateBatch, encodeStateBatch, type StateBatch, stateRecordType } from './state-record.js'
export { decodeEntry, type PartitionEntry } from './partition-entry.js'
export { assertPartitionId, isPartitionId, partitionIdPattern } from './partition-id.js'
export { Store, type StoreInfo, type StoreOptions } from './store.js'
export { memoryBytesMaxDefault, memoryBytesMaxLimit, memoryBytesMin, openPartitionsMaxDefault, openPartitionsMaxLimit } from './store-limits.js'
export { hasPartitionFigures, type StorePartitionInfo, type UnopenedPartitionInfo } from './store-partition-info.js'
export { StoreReader, type StoreReaderOptions } from './store-reader.js'
