/**
 * Flush: a frozen memtable written through the table-writing loop (table-output.ts) as one L0
 * table, installed with the memtable's range tombstones and its LSN as the new durable LSN.
 *
 * Invariants: the memtable leaves memory (`onInstalled`) in the same synchronous step as the
 * version holding its table becomes current, so a reader finds its entries in one place or the
 * other, never neither; a memtable of tombstones only installs no table, just the tombstones and
 * the LSN; on failure the memtable stays (a later flush retries) and whatever was published is an
 * orphan, deleted after the next durable manifest.
 */
import type { Memtable } from './memtable.js'
import type { TableOutput } from './table-output.js'
import type { VersionSet } from './version-set.js'

/** Flushes `m` into `output` (made with the memtable's LSN as tombstoneLsn) and installs it. Resolves to the bytes written. */
export async function flushMemtable(m: Memtable, output: TableOutput, versions: VersionSet, onInstalled: () => void): Promise<number> {
  try {
    for (const [, v] of m.entries()) {
      const w = output.add(v.key, v.seq, v.value)
      if (w !== undefined) await w
    }
    await output.finish()
  } catch (e) {
    await output.abort()
    versions.orphan(output.published)
    throw e
  }
  await versions.installOutputs(output.infos, output.published, 0, { removed: new Set(), tombstones: m.tombstones, durableLsn: m.lsn }, onInstalled)
  return output.bytes
}
