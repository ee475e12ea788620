/**
 * The shapes of a partition's public API: what a write takes, what a scan takes, what `info`
 * reports, and the tunables a partition is opened with.
 */
import type { FileSystem } from '../io/file-system.js'
import type { Durability, Log } from '../log/log.js'
import type { BlockCache } from '../state/index.js'
import type { MemtableAccount } from './memory-budget.js'
import type { Bytes, Reducer } from './reducer.js'
import type { TrimHoldInfo } from './trim-holds.js'

export type Payload = Bytes

export type StateOpInput =
  | { type: 'put'; key: Bytes; value: Bytes }
  | { type: 'delete'; key: Bytes }
  | { type: 'deleteRange'; start: Bytes; end: Bytes }

export interface WriteBatch {
  ops?: readonly StateOpInput[]
  payloads?: readonly Payload[]
}

export interface BytesScanRange {
  gte?: Bytes
  gt?: Bytes
  lte?: Bytes
  lt?: Bytes
  reverse?: boolean
  limit?: number
}

export interface PartitionInfo {
  id: string
  logId: string
  firstLsn: number
  lastLsn: number
  appliedLsn: number
  durableLsn: number
  logBytes: number
  segmentCount: number
  tableCount: number
  tableBytes: number
  memtableBytes: number
  /** The log may be trimmed below this LSN and no further (state durable + 1, lowered by holds). */
  trimFloor: number
  /** Who holds the log from which LSN (`holdTrim`), oldest hold first. */
  trimHolds: TrimHoldInfo[]
  /** True while `pauseWrites` holds new writes back. */
  writesPaused: boolean
}

/** The tunables of a partition's log and state (all optional; defaults in each layer). */
export interface PartitionSettings {
  /** 'sync' (default): a write resolves once fsynced. 'none': once written to the OS. */
  durability?: Durability
  segmentBytesMax?: number
  recordBytesMax?: number
  batchBytesMax?: number
  /** Bound of the memtable (default 64 MiB). */
  memtableBytesMax?: number
  /** Bound of the block cache (default 64 MiB). */
  blockCacheBytesMax?: number
  /** Writes that may wait while writes are paused (default 10,000); more fail with WRITES_PAUSED. */
  pausedWritesMax?: number
  /** Longest a write waits while writes are paused, in ms (default 30 s); then it fails with WRITES_PAUSED. */
  pauseWaitMsMax?: number
}

export interface PartitionOptions extends PartitionSettings {
  id: string
  dir: string
  fs: FileSystem
  /** The partition's log, opened by the store; the partition owns it from here (closes it). */
  log: Log
  reducer?: Reducer
  /** The store's memory budget: told of memtable growth, asked before each write (backpressure). */
  memory?: MemtableAccount
  /** The block cache all of the store's partitions share (then `blockCacheBytesMax` is not used). */
  blockCache?: BlockCache
  /** Open the state without its recovery fsyncs: the store closed it cleanly in this process (StateOptions.trustedClean). */
  trustedClean?: boolean
}
