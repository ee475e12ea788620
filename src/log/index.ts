/** The log of one partition: the interface, the segmented CRC-framed file log, and log chains. */
export type { LogEntry, LogRecord } from './frame.js'
export type { AppendOptions, Durability, Log, LogCut, LogCutFile } from './log.js'
export {
  batchBytesMaxDefault,
  batchRecordsMax,
  FileLog,
  type LogOptions,
  segmentBytesMaxDefault,
  syncDepthMax,
} from './file-log.js'
export { checkRecordBytes, recordBytesMaxDefault } from './record-limits.js'
export { parseSegmentFileName, segmentFileName } from './segment-header.js'
export { type VerifiedSegment, verifySegmentFile } from './verify-segment.js'
export { type CopiedSegment, copySegmentSuffix } from './segment-suffix.js'
export { LogChain, type LogChainLink, type LogChainOptions, type LogChainRollOptions } from './log-chain.js'
export { MemoryLog, type MemoryLogOptions, trimUnitRecordsDefault } from './memory-log.js'
