/** Partitions and the store that owns them. */
export { Catalog, type CatalogData, type CatalogPartition } from './catalog.js'
export { Partition, type PartitionInfo, type Payload, payloadRecordType } from './partition.js'
export { assertPartitionId, isPartitionId, partitionIdPattern } from './partition-id.js'
export { Store, type StoreInfo, type StoreOptions } from './store.js'
