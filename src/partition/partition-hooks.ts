/**
 * The bodies of the partition's hooks that are more than a delegation: a trim bounded by the
 * trim floor, and a pause that resolves only with state caught up with the log.
 *
 * Invariants:
 * - a trim never goes below the trim floor (min(state durable LSN + 1, every trim hold)), and
 *   counts as a trim hold while it runs, so the partition is not idle meanwhile;
 * - a failed trim marks the partition faulted (its log may hold what is not durable);
 * - a pause resolves only when `appliedLsn === lastLsn`; otherwise it is released and fails.
 */
import { CairnError } from '../io/errors.js'
import { appliedBehindLog } from './partition-apply.js'
import { type PartitionParts, trimFloorOf } from './partition-parts.js'

/** Trims the log below `min(belowLsn, trim floor)`; resolves with the new first LSN. */
export async function trimBelow(p: PartitionParts, belowLsn: number): Promise<number> {
  if (!Number.isSafeInteger(belowLsn)) throw new CairnError('INVALID_ARGUMENT', `trim needs an integer LSN (got ${belowLsn})`, { context: { belowLsn } })
  const floor = Math.min(belowLsn, trimFloorOf(p))
  const done = p.trimHolds.trimming(floor)
  try {
    return await p.log.trim(floor)
  } catch (e) {
    p.usage.faulted = true
    throw e
  } finally {
    done()
  }
}

/** Pauses the gate; resolves with its resume once the writes in flight settled and state caught up. */
export async function pauseAtApplied(p: PartitionParts): Promise<() => void> {
  const resume = await p.gate.pause()
  if (p.tree.appliedLsn !== p.log.lastLsn) {
    resume()
    throw appliedBehindLog(p.id, p.log.lastLsn, p.tree.appliedLsn)
  }
  return resume
}
