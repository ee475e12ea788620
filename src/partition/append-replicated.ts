/**
 * The body of `Partition.appendReplicated`: records another store logged, appended with the LSNs
 * they have there (a follower, a restore from an archived log).
 *
 * Invariants:
 * - nothing is written unless the first record's LSN is the log's next one and the LSNs are dense
 *   (checked before the wait for backpressure and the gate, again after it, and by the log as it
 *   assigns the LSN: LSN_MISMATCH);
 * - the records are copied and checked before any await (the caller may reuse its buffers);
 * - their state commands are the ones the source's reducer produced, never reduced again, and are
 *   applied through the same step as local writes, once durable;
 * - it is counted as a user and passes the write gate like a local write; a failed append marks
 *   the partition faulted (its log may hold what is not durable).
 */
import type { PartitionParts } from './partition-parts.js'
import { checkReplicatedStart, encodeReplicated, type ReplicatedRecord } from './partition-write.js'

export async function appendReplicated(p: PartitionParts, records: readonly ReplicatedRecord[], sourceLogId: string | undefined): Promise<number> {
  if (p.usage.closed) throw p.usage.closedError()
  const { records: owned, opsByRecord } = encodeReplicated(records)
  const firstLsn = records[0]!.lsn
  checkReplicatedStart(p.id, firstLsn, p.log.nextLsn, sourceLogId)
  p.usage.users++
  try {
    await p.maintenance.admit()
    while (p.gate.paused) await p.gate.wait()
    checkReplicatedStart(p.id, firstLsn, p.log.nextLsn, sourceLogId)
    p.gate.enter()
    try {
      return await p.log.append(owned, { expectedLsn: firstLsn, onDurable: p.applier.applyRecords.bind(p.applier, opsByRecord) })
    } catch (e) {
      p.usage.faulted = true
      throw e
    } finally {
      p.gate.leave()
    }
  } finally {
    p.usage.users--
  }
}
