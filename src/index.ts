/**
 * cairn: a durable, partitioned log + state engine in which snapshots are first-class.
 *
 * The main entry is the engine's public API, closed: what is not exported here is internal.
 * Test doubles (in-memory and fault-injecting file systems and object stores, an in-memory log)
 * are in `cairn/testing`. The capabilities that bring heavy dependencies have their own entries,
 * so importing `cairn` does not load them: `cairn/snapshot` (canonical snapshots, repositories,
 * policy, bootstrap), `cairn/objectstore` (file://, s3:// and memory:// object stores; the AWS
 * SDK), `cairn/ingest` (Postgres ingest; the pg client). Checkpoints are in the main entry and
 * also in `cairn/checkpoint`.
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
export {
  type CheckpointFile,
  type CheckpointManifest,
  checkpointManifestFile,
  type CheckpointOptions,
  type CheckpointProblem,
  type CheckpointProgress,
  type CheckpointResult,
  checkpoint,
  type RestoreCheckpointOptions,
  type RestoreCheckpointResult,
  readCheckpointManifest,
  restoreCheckpoint,
  type VerifyCheckpointOptions,
  type VerifyCheckpointResult,
  verifyCheckpoint,
} from './checkpoint/index.js'
export { type CairnServer, createServer, type ServerOptions } from './server/index.js'
