/**
 * TRIM_GAP: a partition's state needs its log from an LSN the log no longer holds (it was
 * trimmed past the state's durable point, or the state was lost). Not corruption: nothing
 * acknowledged is lost while a snapshot at or past the gap exists, and restoring the state from
 * one while keeping the log (`Store.restorePartition(id, { lsn, entries, keepLog: true })`)
 * repairs it.
 */
import { CairnError } from '../io/errors.js'

/**
 * @example
 * if (tree.durableLsn + 1 < log.firstLsn) throw trimGap('orders', tree.durableLsn + 1, log.firstLsn, log.lastLsn)
 */
export function trimGap(id: string, neededLsn: number, firstLsn: number, lastLsn: number): CairnError {
  return new CairnError(
    'TRIM_GAP',
    `partition ${id}: its state needs the log from LSN ${neededLsn} but the log starts at ${firstLsn} (trimmed): restore the partition from a snapshot at LSN ${firstLsn - 1} or later (cairn snapshot restore --repo URL --data DIR --partition ${id}; a store with a repository does it when the partition opens), or from a backup`,
    { context: { partition: id, neededLsn, firstLsn, lastLsn } },
  )
}
