/**
 * Recovery at open: state is recovered from its tables, then the log is replayed into it from
 * the state's durable LSN + 1, so applied LSN == the log's last LSN once a partition is open.
 *
 * Invariants:
 * - a state durable past the log's end is corruption (CORRUPT_LOG), a log trimmed above what
 *   state needs is TRIM_GAP (trim-gap.ts); neither is ever silently skipped;
 * - replay applies the ops stored in each record (the reducer never runs again), every LSN in
 *   order, each the previous + 1;
 * - a flush during replay may make durable in state what the last process wrote but never
 *   synced, only because the log's open made every LSN it holds durable first.
 */
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { CorruptionError } from '../io/errors.js'
import type { Log } from '../log/log.js'
import { LsmTree } from '../state/index.js'
import type { PartitionOptions } from './partition-types.js'
import { assertNextLsn } from './partition-apply.js'
import { decodeStateBatch, stateRecordType } from './state-record.js'
import { trimGap } from './trim-gap.js'

/** Opens the partition's state and replays its log into it; on failure closes both (the partition owns the log). */
export async function openState(options: PartitionOptions): Promise<LsmTree> {
  const { fs, dir, log } = options
  let tree: LsmTree | undefined
  try {
    tree = await LsmTree.open({
      fs,
      dir: posix.join(dir, 'state'),
      ...(options.memtableBytesMax !== undefined && { memtableBytesMax: options.memtableBytesMax }),
      ...(options.blockCacheBytesMax !== undefined && { blockCacheBytesMax: options.blockCacheBytesMax }),
      ...(options.blockCache !== undefined && { blockCache: options.blockCache }),
      ...(options.trustedClean === true && { trustedClean: true }),
    })
    await replay(options.id, log, tree)
    return tree
  } catch (e) {
    await tree?.close().catch(() => undefined)
    await log.close().catch(() => undefined)
    throw e
  }
}

/** Replays the log into state from the state's durable LSN + 1. */
export async function replay(id: string, log: Log, tree: LsmTree): Promise<void> {
  const from = tree.durableLsn + 1
  if (tree.durableLsn > log.lastLsn) {
    throw new CorruptionError(
      'CORRUPT_LOG',
      `partition ${id}: state is durable up to LSN ${tree.durableLsn} but the log ends at ${log.lastLsn}: the log lost acknowledged records; restore from a backup`,
      { context: { partition: id, durableLsn: tree.durableLsn, lastLsn: log.lastLsn } },
    )
  }
  // A gap, not corruption: a snapshot at or past it repairs the partition (trim-gap.ts).
  if (from < log.firstLsn) throw trimGap(id, from, log.firstLsn, log.lastLsn)
  if (from <= log.lastLsn) {
    // What is replayed may be what a crashed process wrote and never synced (the page cache kept
    // it): a flush below may make it durable in state only because the log's open made it durable
    // first (`FileLog.open` fsyncs the last segment; `syncedLsn` covers every LSN it holds).
    assert(log.syncedLsn >= log.lastLsn, 'an opened log is durable through its last LSN')
    for await (const batch of log.readBatches(from)) {
      for (const entry of batch) {
        assertNextLsn(id, tree.appliedLsn, entry.lsn)
        tree.apply(entry.lsn, entry.type === stateRecordType ? decodeStateBatch(entry.payload, entry.lsn).ops : [])
        if (tree.needsFlush()) await tree.flush()
      }
    }
  }
  assert(tree.appliedLsn === log.lastLsn, 'after replay, state has applied every LSN of the log')
}
