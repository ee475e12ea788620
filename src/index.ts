/**
 * cairn: a durable, partitioned log + state engine in which snapshots are first-class.
 * @module
 */
export {
  CairnError,
  type ErrorCode,
  FaultFileSystem,
  type FileSystem,
  MemoryFileSystem,
  NodeFileSystem,
  CorruptionError,
  IoError,
  isCairnError,
} from './io/index.js'
export { type Durability, FileLog, type Log, type LogEntry, type LogOptions, type LogRecord } from './log/index.js'
export {
  isPartitionId,
  Partition,
  type PartitionInfo,
  type Payload,
  Store,
  type StoreInfo,
  type StoreOptions,
} from './partition/index.js'
export { type CairnServer, createServer, type ServerOptions } from './server/index.js'
