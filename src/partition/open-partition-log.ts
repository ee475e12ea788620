/**
 * Opening a partition's log: the one place that turns a catalog entry into the `Log` the
 * partition writes through.
 *
 * Invariants:
 * - the active log of an existing partition must be on disk: a missing log directory is
 *   CORRUPT_LOG, never silently a new empty log (that would drop acknowledged records);
 * - a new partition's log is created (directory durable) before the catalog names it.
 */
import { randomBytes } from 'node:crypto'
import { CorruptionError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { FileLog } from '../log/file-log.js'
import type { Durability, Log } from '../log/log.js'
import type { CatalogPartition } from './catalog.js'
import type { StoreLayout } from './store-layout.js'

/** The log tunables a store passes to every partition's logs. */
export interface PartitionLogSettings {
  durability?: Durability | undefined
  segmentBytesMax?: number | undefined
  recordBytesMax?: number | undefined
  batchBytesMax?: number | undefined
}

/** A fresh id for a log or a state directory (32 hex characters: a segment header holds 16 bytes of log id). */
export function newStoreFileId(): string {
  return randomBytes(16).toString('hex')
}

export interface OpenPartitionLogOptions {
  fs: FileSystem
  layout: StoreLayout
  id: string
  entry: CatalogPartition
  settings: PartitionLogSettings
  /** The entry is not in the catalog yet: create its log (default false: it must exist). */
  create?: boolean
}

/**
 * Opens the partition's log as its catalog entry describes it.
 *
 * @example
 * const log = await openPartitionLog({ fs, layout, id: 'orders', entry, settings: {} })
 */
export async function openPartitionLog(options: OpenPartitionLogOptions): Promise<Log> {
  const { fs, layout, id, entry, settings } = options
  const link = entry.logs[entry.logs.length - 1]!
  const dir = layout.logDir(id, link.logId)
  if (options.create !== true && (await fs.stat(dir)) === undefined) throw logMissing(id, dir)
  return await openFileLog(fs, dir, link.logId, link.firstLsn, settings)
}

export function openFileLog(fs: FileSystem, dir: string, logId: string, startLsn: number, settings: PartitionLogSettings, readOnly = false): Promise<FileLog> {
  return FileLog.open({
    fs,
    dir,
    logId,
    startLsn,
    readOnly,
    ...(settings.durability !== undefined && { durability: settings.durability }),
    ...(settings.segmentBytesMax !== undefined && { segmentBytesMax: settings.segmentBytesMax }),
    ...(settings.recordBytesMax !== undefined && { recordBytesMax: settings.recordBytesMax }),
    ...(settings.batchBytesMax !== undefined && { batchBytesMax: settings.batchBytesMax }),
  })
}

function logMissing(id: string, dir: string): CorruptionError {
  return new CorruptionError('CORRUPT_LOG', `partition ${id}: its log ${dir} is missing: restore the partition from a backup`, {
    context: { partition: id, dir },
  })
}
