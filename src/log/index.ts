/** The segmented, CRC-framed, group-committed log of one partition. */
export type { LogEntry, LogRecord } from './frame.js'
export {
  type AppendOptions,
  batchBytesMaxDefault,
  batchRecordsMax,
  type Durability,
  Log,
  type LogOptions,
  recordBytesMaxDefault,
  segmentBytesMaxDefault,
  syncDepthMax,
} from './log.js'
export { segmentFileName } from './segment-header.js'
