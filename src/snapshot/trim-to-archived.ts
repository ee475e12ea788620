/**
 * Snapshot-driven trimming: with a repository, a partition's log is needed only above
 * min(state durable LSN, archived LSN): the records at or below the archived LSN are in the
 * oldest retained snapshot (a restore from it replays the rest), those at or below the durable
 * LSN are in the state's tables.
 *
 * Invariants:
 * - the log is trimmed below `min(durable, archived) + 1` at most, and never past a trim hold
 *   (`Partition.trim` bounds every trim by its trim floor: min(durable + 1, every hold));
 * - only whole segments (and whole sealed logs of the chain) go: the log's trim drops nothing
 *   smaller;
 * - a flush runs first only when it can let the trim go further: state is behind the archived
 *   LSN and the log has a segment it could drop.
 */
import type { Partition } from '../partition/index.js'

export interface TrimResult {
  partition: string
  /** The first LSN before and after. */
  firstLsnBefore: number
  firstLsn: number
  /** The bound asked for: min(durable, archived) + 1 (the trim floor may have lowered it). */
  belowLsn: number
  flushed: boolean
}

/**
 * Trims `partition`'s log below min(its durable LSN, `archivedLsn`) + 1, flushing first when useful.
 *
 * @example
 * const { firstLsn } = await trimToArchived(partition, pointer.archivedLsn)
 */
export async function trimToArchived(partition: Partition, archivedLsn: number): Promise<TrimResult> {
  const firstLsnBefore = partition.firstLsn
  let flushed = false
  // A trim can only drop whole segments: with one segment there is nothing a flush would free.
  if (partition.durableLsn < archivedLsn && partition.appliedLsn > partition.durableLsn && partition.info().segmentCount > 1) {
    await partition.flush()
    flushed = true
  }
  const belowLsn = Math.min(partition.durableLsn, archivedLsn) + 1
  const firstLsn = belowLsn > firstLsnBefore ? await partition.trim(belowLsn) : firstLsnBefore
  return { partition: partition.id, firstLsnBefore, firstLsn, belowLsn, flushed }
}
