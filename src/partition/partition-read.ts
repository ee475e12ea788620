/**
 * Reading a partition's log as `PartitionEntry`s (each state record decoded) and the translation
 * of a scan's byte-or-string bounds into the state's.
 *
 * Invariant: readers see only what the log acknowledged, in LSN order (the log's promise); the
 * decoding adds fields to each fresh entry in place and copies nothing.
 *
 * Each reader takes the partition's `ReaderUse`: `enter()` on the first `next()` checks the
 * partition is open (as a method that is itself a generator would: the partition hands the
 * generator out directly, since a `yield*` around it would cost a hop per entry) and counts the
 * reader as a user (the store closes only an idle partition), `leave()` when it ends.
 */
import type { Log } from '../log/log.js'
import type { ScanRange } from '../state/index.js'
import { EntryReader, type ReaderUse } from './entry-reader.js'

export type { ReaderUse } from './entry-reader.js'
import { decodeEntry, type PartitionEntry } from './partition-entry.js'
import type { BytesScanRange } from './partition-types.js'
import { toBytes } from './reducer.js'

/** Entries from `fromLsn` (default: the log's first), at most `limit` of them (see EntryReader). */
export function readEntries(use: ReaderUse, log: Log, fromLsn: number | undefined, limit: number | undefined): AsyncGenerator<PartitionEntry> {
  return new EntryReader(use, () => log.readBatches(fromLsn ?? log.firstLsn), limit)
}

/** Entries from `fromLsn` (default: the log's first) through `toLsn`, in the log's batches. */
export async function* readEntryBatches(
  use: ReaderUse,
  log: Log,
  fromLsn: number | undefined,
  toLsn: number | undefined,
): AsyncGenerator<PartitionEntry[]> {
  use.enter()
  try {
    for await (const batch of log.readBatches(fromLsn ?? log.firstLsn, toLsn)) {
      for (const entry of batch) decodeEntry(entry)
      yield batch as PartitionEntry[]
    }
  } finally {
    use.leave()
  }
}

/** Entries from `fromLsn`, then new ones as they are acknowledged, until the log closes or `signal` aborts. */
export async function* tailEntries(use: ReaderUse, log: Log, fromLsn: number, options: { signal?: AbortSignal }): AsyncGenerator<PartitionEntry> {
  use.enter()
  try {
    for await (const entry of log.tail(fromLsn, options)) yield decodeEntry(entry)
  } finally {
    use.leave()
  }
}

export function toScanRange(range: BytesScanRange): ScanRange {
  const out: ScanRange = {}
  if (range.gte !== undefined) out.gte = toBytes(range.gte)
  if (range.gt !== undefined) out.gt = toBytes(range.gt)
  if (range.lte !== undefined) out.lte = toBytes(range.lte)
  if (range.lt !== undefined) out.lt = toBytes(range.lt)
  if (range.reverse !== undefined) out.reverse = range.reverse
  if (range.limit !== undefined) out.limit = range.limit
  return out
}
