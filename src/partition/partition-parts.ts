/**
 * What a partition is made of, and its lifecycle: how the parts are opened (the write gate's
 * settings checked before the state is opened), closed, when the whole may be closed by the
 * store (`partitionIdle`), and what `info()` reports.
 *
 * Invariants:
 * - open: a bad setting fails before anything is opened past the log, and closes the log it
 *   was handed; a failed state open closes it too (partition-replay.ts);
 * - close: the gate fails its waiters first; the maintenance is settled and the tree closed even
 *   when the log fails to close (the store releases its lock after this, and a flush still
 *   running would then write into a store someone else may own);
 * - the close reports clean only when both closes succeeded and nothing failed while open (no
 *   append, trim, flush or compaction) and the log is synced to its end: only then may the store
 *   reopen the partition without recovery (`trustedClean`);
 * - idle is true only when closing the partition would fail nobody: no write in flight or
 *   waiting, no reader, tail, scan, snapshot or retained state open, no trim hold, no pause, no
 *   flush or compaction running (the store closes only idle partitions to bound how many are open).
 */
import type { Log } from '../log/log.js'
import type { LsmTree } from '../state/index.js'
import type { StateApplier } from './partition-apply.js'
import type { PartitionMaintenance } from './partition-maintenance.js'
import { openState } from './partition-replay.js'
import type { PartitionInfo, PartitionOptions } from './partition-types.js'
import type { PartitionUsage } from './partition-usage.js'
import type { TrimHolds } from './trim-holds.js'
import { WriteGate } from './write-gate.js'

export interface PartitionParts {
  readonly id: string
  readonly log: Log
  readonly tree: LsmTree
  readonly gate: WriteGate
  readonly maintenance: PartitionMaintenance
  readonly trimHolds: TrimHolds
  readonly usage: PartitionUsage
  readonly applier: StateApplier
}

/** Opens the state (replaying the log into it) once the gate's settings are checked. */
export async function openPartitionParts(options: PartitionOptions): Promise<{ tree: LsmTree; gate: WriteGate }> {
  let gate: WriteGate
  try {
    gate = new WriteGate(options.id, options.pausedWritesMax, options.pauseWaitMsMax)
  } catch (e) {
    await options.log.close().catch(() => undefined)
    throw e
  }
  return { tree: await openState(options), gate }
}

/** Closes the parts; resolves true when the partition closed cleanly (see the header). */
export async function closePartitionParts(p: PartitionParts): Promise<boolean> {
  p.gate.close(p.usage.closedError())
  try {
    await p.log.close()
  } finally {
    // Even when the log fails to close (see the header).
    await p.maintenance.settle()
    await p.tree.close()
  }
  return !p.usage.faulted && !p.maintenance.faulted && !p.tree.faulted && p.log.syncedLsn >= p.log.lastLsn
}

export function partitionIdle(p: PartitionParts): boolean {
  return (
    p.usage.users === 0 &&
    !p.usage.closed &&
    !p.maintenance.running &&
    p.tree.readerCount === 0 &&
    !p.trimHolds.busy &&
    !p.gate.paused &&
    p.gate.inFlight === 0 &&
    p.gate.waiting === 0
  )
}

export function trimFloorOf(p: PartitionParts): number {
  return Math.min(p.tree.durableLsn + 1, p.trimHolds.floor())
}

export function describePartition(p: PartitionParts): PartitionInfo {
  const stats = p.tree.stats()
  return {
    id: p.id,
    logId: p.log.logId,
    firstLsn: p.log.firstLsn,
    lastLsn: p.log.lastLsn,
    appliedLsn: p.tree.appliedLsn,
    durableLsn: p.tree.durableLsn,
    logBytes: p.log.bytes,
    segmentCount: p.log.segmentCount,
    tableCount: stats.tableCount,
    tableBytes: stats.tableBytes,
    memtableBytes: stats.memtableBytes,
    trimFloor: trimFloorOf(p),
    trimHolds: p.trimHolds.list(),
    writesPaused: p.gate.paused,
  }
}
