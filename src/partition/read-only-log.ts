/**
 * Where a partition's log lives, and opening it read-only beside the process that owns the store.
 * The one place the read-only side knows the store's log layout, so the switch to a chain of logs
 * (`partitions/<id>/logs/<logId>/`) is made here.
 *
 * Invariants:
 * - nothing is written (the log is opened `readOnly`: no recovery, no markers, no trims);
 * - the log shows only records a frame proves the writer had fsynced, so a reader never sees a
 *   write that a crash of the writer could still take back.
 */
import { posix } from 'node:path'
import type { FileSystem } from '../io/file-system.js'
import { FileLog } from '../log/file-log.js'
import type { CatalogPartition } from './catalog.js'
import { partitionsDirName } from './store-recovery.js'

/** One log of a partition's history: its directory and id. */
export interface PartitionLogDir {
  dir: string
  logId: string
}

/** The directory of a partition's state tree. */
export function partitionStateDir(root: string, id: string): string {
  return posix.join(root, partitionsDirName, id, 'state')
}

/** The logs of a partition, oldest first (today one per partition, in `partitions/<id>/log/`). */
export function partitionLogDirs(root: string, id: string, entry: CatalogPartition): PartitionLogDir[] {
  return [{ dir: posix.join(root, partitionsDirName, id, 'log'), logId: entry.logId }]
}

/** Opens the partition's log read-only (the newest log of its chain, today its only one). */
export async function openReadOnlyLog(
  fs: FileSystem,
  root: string,
  id: string,
  entry: CatalogPartition,
  options: { pollIntervalMs?: number } = {},
): Promise<FileLog> {
  const logs = partitionLogDirs(root, id, entry)
  const newest = logs[logs.length - 1]!
  return await FileLog.open({
    fs,
    dir: newest.dir,
    logId: newest.logId,
    readOnly: true,
    ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
  })
}
