/**
 * The options of a file log and their bounds. Every bound a caller can set is checked at open
 * with a typed `INVALID_CONFIG` error, so a bad value is refused before anything is written.
 */
import { CairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { frameBodyBytesMax, frameHeaderBytes } from './frame.js'
import type { Durability } from './log.js'
import { recordBytesMaxDefault } from './record-limits.js'

export const segmentBytesMaxDefault = 64 * 1024 * 1024
/** Smallest segment: a header and a few frames. */
export const segmentBytesMin = 4096
/** Largest segment (1 TiB): offsets stay exact doubles, and a segment is a unit of trimming. */
export const segmentBytesMaxLimit = 2 ** 40
export const batchBytesMaxDefault = 32 * 1024 * 1024
/** A batch is one frame: its body must stay within what a reader accepts from a frame. */
export const batchBytesMaxLimit = frameHeaderBytes + frameBodyBytesMax
/** How often a read-only log looks for new records while tailing. */
export const pollIntervalMsDefault = 100
export const pollIntervalMsMax = 60_000

export interface LogOptions {
  fs: FileSystem
  /** The directory holding this log's segments; created if missing. */
  dir: string
  /** The id of the log; a new log takes it (or a random one), an existing log must match it. */
  logId?: string
  /** The first LSN of a new log (default 1); ignored when the log exists. */
  startLsn?: number
  durability?: Durability
  /** Bytes after which the log starts a new segment (4 KiB .. 1 TiB, default 64 MiB). */
  segmentBytesMax?: number
  /** Largest record (1 byte .. batchBytesMax, default 16 MiB). */
  recordBytesMax?: number
  /** Largest batch, frame header included (recordBytesMax .. 256 MiB, default 32 MiB). */
  batchBytesMax?: number
  /**
   * Open beside a live writer (another process may own the store): no recovery writes, no
   * appends; `refresh()` and `tail` pick up what the writer adds.
   */
  readOnly?: boolean
  /** Read-only tail: how often to look for new records (1 ms .. 60 s, default 100 ms). */
  pollIntervalMs?: number
  /**
   * Skip the recovery fsyncs (the directory's, and the last segment's with the rewrite of its
   * unproven tail): only for a log that THIS process closed cleanly (its close fsynced its last
   * segment and succeeded, no append, sync or trim of it failed) and that nothing touched since.
   * Those fsyncs make durable what a previous process may have left unsynced (a rename whose
   * directory fsync never ran, pages a killed writer left dirty or marked clean by a failed
   * fsync); after a clean close in this process there is none: every segment creation fsynced
   * its directory, and the close fsynced the active segment. A torn tail still gets the full
   * recovery (a clean close leaves none). Default false.
   */
  trustedClean?: boolean
}

/** The options with every default filled in and every bound checked. */
export interface FileLogConfig {
  fs: FileSystem
  dir: string
  logId: string | undefined
  startLsn: number
  durability: Durability
  segmentBytesMax: number
  recordBytesMax: number
  batchBytesMax: number
  readOnly: boolean
  pollIntervalMs: number
  trustedClean: boolean
}

export function resolveLogOptions(options: LogOptions): FileLogConfig {
  const { dir } = options
  const segmentBytesMax = options.segmentBytesMax ?? segmentBytesMaxDefault
  const recordBytesMax = options.recordBytesMax ?? recordBytesMaxDefault
  const batchBytesMax = options.batchBytesMax ?? batchBytesMaxDefault
  const pollIntervalMs = options.pollIntervalMs ?? pollIntervalMsDefault
  const startLsn = options.startLsn ?? 1
  integerIn(dir, 'segmentBytesMax', segmentBytesMax, segmentBytesMin, segmentBytesMaxLimit)
  integerIn(dir, 'batchBytesMax', batchBytesMax, frameHeaderBytes + 1, batchBytesMaxLimit)
  integerIn(dir, 'recordBytesMax', recordBytesMax, 1, batchBytesMax)
  integerIn(dir, 'pollIntervalMs', pollIntervalMs, 1, pollIntervalMsMax)
  integerIn(dir, 'startLsn', startLsn, 1, Number.MAX_SAFE_INTEGER)
  const durability = options.durability ?? 'sync'
  if (durability !== 'sync' && durability !== 'none') {
    throw new CairnError('INVALID_CONFIG', `log ${dir}: durability must be 'sync' or 'none' (got ${String(durability)})`, { context: { dir } })
  }
  return { fs: options.fs, dir, logId: options.logId, startLsn, durability, segmentBytesMax, recordBytesMax, batchBytesMax, readOnly: options.readOnly ?? false, pollIntervalMs, trustedClean: options.trustedClean === true }
}

function integerIn(dir: string, name: string, value: number, min: number, max: number): void {
  if (Number.isSafeInteger(value) && value >= min && value <= max) return
  throw new CairnError('INVALID_CONFIG', `log ${dir}: ${name} must be an integer from ${min} to ${max} (got ${value}): pass a value in that range or leave it unset`, {
    context: { dir, option: name, value, min, max },
  })
}
