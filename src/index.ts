/**
 * cairn: a durable, partitioned log + state engine in which snapshots are first-class.
 *
 * The main entry is the engine's public API, closed: what is not exported here is internal.
 * Test doubles (in-memory and fault-injecting file systems) are in `cairn/testing`.
 * @module
 */
export {
  CairnError,
  CorruptionError,
  type ErrorCode,
  type FileSystem,
  IoError,
  isCairnError,
  NodeFileSystem,
} from './io/index.js'
export {
  type AppendOptions,
  type Durability,
  FileLog,
  type Log,
  type LogCut,
  type LogCutFile,
  type LogEntry,
  type LogOptions,
  type LogRecord,
} from './log/index.js'
export {
  type Bytes,
  type BytesScanRange,
  isPartitionId,
  Partition,
  type PartitionEntry,
  type PartitionInfo,
  type PartitionOptions,
  type PartitionSettings,
  type Payload,
  type ReadOnlyPartition,
  type ReadOnlyPartitionInfo,
  type ReadSnapshot,
  type Reducer,
  type ReducerTx,
  type ReplicatedRecord,
  type RestorePartitionInput,
  type RetainedFile,
  type RetainedState,
  type StateOpInput,
  type StateStats,
  Store,
  type StoreInfo,
  type StoreOptions,
  type StorePartitionInfo,
  StoreReader,
  type UnopenedPartitionInfo,
  type StoreReaderInfo,
  type StoreReaderOptions,
  type StoreReaderPartition,
  type TrimHoldInfo,
  type WriteBatch,
} from './partition/index.js'
export { type CairnServer, createServer, type ServerOptions } from './server/index.js'
export {
  type DropIngestOptions,
  dropIngest,
  type IngestPhase,
  type IngestStatus,
  type PostgresIngestOptions,
  PostgresIngester,
  readIngestStatus,
  readStoredIngestStatus,
  type StoredIngestStatusOptions,
  type TableCopyState,
  type TableStatus,
} from './ingest/index.js'
