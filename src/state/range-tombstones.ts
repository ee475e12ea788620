/**
 * Range tombstones (deleteRange). Design: a deleteRange at LSN t removes the covered entries of
 * the memtable at once and is recorded as a tombstone [start, end) with seq t. Flushed
 * tombstones live in the version (and the manifest), not in table files, and every read checks
 * them: an entry (key, seq s) is hidden when a tombstone covering key has seq > s. This is
 * correct for tables written before the deleteRange whatever their level, and needs no
 * clipping of tombstones at table boundaries. Compaction applies the tombstones (drops covered
 * entries) and stamps its output with the LSN up to which they were applied (`tombstoneLsn`);
 * a tombstone is dropped from the version once every table overlapping its range has
 * tombstoneLsn >= its seq, i.e. nothing it could hide remains.
 */
import type { Table } from './table-reader.js'
import { compareBytes, type RangeTombstone } from './types.js'

/** True when a tombstone covering `key` is newer than `seq`. */
export function isCovered(tombstones: readonly RangeTombstone[], key: Uint8Array, seq: number): boolean {
  for (let i = 0; i < tombstones.length; i++) {
    const t = tombstones[i]!
    if (t.seq > seq && compareBytes(t.start, key) <= 0 && compareBytes(key, t.end) < 0) return true
  }
  return false
}

/** Tombstones that still matter for the given live tables. */
export function liveTombstones(tombstones: readonly RangeTombstone[], tables: Iterable<Table>): RangeTombstone[] {
  const all = [...tables]
  return tombstones.filter((t) =>
    all.some(
      (table) =>
        table.info.tombstoneLsn < t.seq &&
        compareBytes(table.info.smallest, t.end) < 0 &&
        compareBytes(table.info.largest, t.start) >= 0,
    ),
  )
}

/** Tombstones whose range meets [lower, upper] (undefined = unbounded). */
export function tombstonesWithin(
  tombstones: readonly RangeTombstone[],
  lower: Uint8Array | undefined,
  upper: Uint8Array | undefined,
): RangeTombstone[] {
  return tombstones.filter(
    (t) =>
      compareBytes(t.start, t.end) < 0 &&
      (upper === undefined || compareBytes(t.start, upper) <= 0) &&
      (lower === undefined || compareBytes(t.end, lower) > 0),
  )
}
