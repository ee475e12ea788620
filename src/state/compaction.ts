/**
 * Compaction: LEVELED, as in LevelDB/RocksDB.
 *
 * Why leveled and not tiered: cairn's targets are point reads competitive with lmdb and bounded
 * space amplification. Leveled keeps at most one table per key range in each level >= 1, so a
 * read checks L0 (a few tables) plus one table per level, and obsolete versions are dropped soon
 * (space amplification ~1.1x when levels are full). The price is higher write amplification
 * (roughly the level size multiplier per level), bounded by `levelBytesMultiplier` and by
 * trivial moves (a table with no overlap below is moved, not rewritten).
 *
 * Policy: L0 tables (flushed memtables, overlapping) are all merged into L1 once there are
 * `level0TableCountTrigger` of them. A level l >= 1 over `level1BytesMax * multiplier^(l-1)`
 * pushes one table (round robin by key) into level l+1 with the overlapping tables there.
 *
 * Range tombstones (see range-tombstones.ts) live in the version until every table they overlap
 * has applied them, so they also drive compaction, at every level including the bottom one:
 * - a table wholly covered by one newer tombstone is dropped from the version without I/O;
 * - once the version holds `rangeTombstoneCountTrigger` tombstone fragments, or the data they
 *   are estimated to cover reaches `tombstoneGarbageRatio` of the table bytes, every tombstone
 *   flushed so far becomes due (`TombstoneReclaim.dueLsn`), and the tables keeping a due
 *   tombstone alive are rewritten one by one (most covered data first): in place at their level
 *   (L0 tables through the usual L0 -> L1 merge, as L0 order is by table id); each rewrite
 *   drops the covered entries and stamps the output, and a tombstone is gone once its last
 *   pending table was rewritten. This bounds the live tombstones (and the manifest, and the
 *   work of a lookup) and reclaims the space of what they deleted;
 * - a table with a pending tombstone is never trivially moved: it is rewritten, which applies
 *   the tombstone on the way.
 * Read snapshots and retained versions hold their own version (its tables and tombstones), so a
 * reclaim never changes what they see.
 *
 * Invariants: only the newest version of each key survives a merge (read snapshots keep the
 * old table files pinned instead of needing old versions in new files); point tombstones are
 * dropped only when no level below the output holds an overlapping table (nothing older to hide);
 * entries hidden by a version range tombstone are dropped anywhere; output tables are stamped
 * with the durable LSN of the base version as `tombstoneLsn` (every version tombstone has a seq
 * at or below it, so each rewrite retires all the tombstones it was pending on). The merge
 * yields to the event loop every `compactionSliceMs`, so it never blocks it for longer.
 */
import { assert } from '../io/assert.js'
import { type Cursor, LevelCursor, TableCursor } from './cursor.js'
import { MergeIterator } from './merge-iterator.js'
import { hasPendingTombstones, isCovered, pendingTombstones } from './range-tombstones.js'
import type { Table, TableInfo } from './table/index.js'
import type { TableOutput } from './table-output.js'
import { type Bounds, compareBytes, type RangeTombstone } from './types.js'
import { levelCount, overlapping, type Version } from './version.js'

export interface CompactionOptions {
  level0TableCountTrigger: number
  level1BytesMax: number
  levelBytesMultiplier: number
  tableBytesTarget: number
  blockBytes: number
  compactionSliceMs: number
  /** Version tombstone fragments at which every flushed tombstone becomes due for reclaiming. */
  rangeTombstoneCountTrigger: number
}

/** Default of `rangeTombstoneCountTrigger`: a manifest of ~70 KiB of tombstones at most, lookups stay O(log n). */
export const rangeTombstoneCountTriggerDefault = 1024
/**
 * Share of the table bytes that data covered by pending tombstones may reach before they all
 * become due (the space-amplification bound leveled compaction aims at is about 1.1x).
 */
export const tombstoneGarbageRatio = 0.1

/**
 * What the picker remembers between calls about tombstone reclaiming: tombstones with seq <=
 * dueLsn are due (their pending tables get rewritten until none is left). The owner keeps one.
 */
export interface TombstoneReclaim {
  dueLsn: number
}

export interface CompactionJob {
  /** Level the first inputs come from (0..levelCount-1), or -1 for a full compaction. */
  level: number
  outputLevel: number
  /** Input tables in priority order (newest data first). */
  inputs: Table[]
  /** How the inputs group into cursors: each group is one sorted run. */
  runs: Table[][]
  /** Point tombstones may be dropped (nothing older below). */
  bottom: boolean
  /** The job is a pure move of one table: no rewrite. */
  move: boolean
  /** The job drops its inputs (each wholly covered by a newer tombstone): no rewrite, no output. */
  drop: boolean
}

export function levelBytesMax(options: CompactionOptions, level: number): number {
  return options.level1BytesMax * options.levelBytesMultiplier ** (level - 1)
}

function rangeOf(tables: readonly Table[]): { smallest: Uint8Array; largest: Uint8Array } {
  let smallest = tables[0]!.info.smallest
  let largest = tables[0]!.info.largest
  for (const t of tables) {
    if (compareBytes(t.info.smallest, smallest) < 0) smallest = t.info.smallest
    if (compareBytes(t.info.largest, largest) > 0) largest = t.info.largest
  }
  return { smallest, largest }
}

function isBottom(version: Version, outputLevel: number, smallest: Uint8Array, largest: Uint8Array): boolean {
  for (let l = outputLevel + 1; l < levelCount; l++) {
    const tables = version.levels[l]!
    if (tables.some((t) => compareBytes(t.info.largest, smallest) >= 0 && compareBytes(t.info.smallest, largest) <= 0)) return false
  }
  return true
}

/**
 * The next compaction due in `version`, or undefined. `pointers[l]` is the largest key last
 * compacted out of level l (round robin).
 */
export function pickCompaction(
  version: Version,
  options: CompactionOptions,
  pointers: (Uint8Array | undefined)[],
  reclaim: TombstoneReclaim,
): CompactionJob | undefined {
  const l0 = version.levels[0]!
  if (l0.length >= options.level0TableCountTrigger) return jobFor(version, 0, [...l0], l0.map((t) => [t]))
  return sizeJob(version, options, pointers) ?? tombstoneJob(version, options, reclaim)
}

function sizeJob(version: Version, options: CompactionOptions, pointers: (Uint8Array | undefined)[]): CompactionJob | undefined {
  let best = -1
  let bestScore = 1
  for (let l = 1; l < levelCount - 1; l++) {
    const score = version.levelBytes(l) / levelBytesMax(options, l)
    if (score >= bestScore) {
      best = l
      bestScore = score
    }
  }
  if (best < 0) return undefined
  const tables = version.levels[best]!
  const after = pointers[best]
  const pick = (after === undefined ? undefined : tables.find((t) => compareBytes(t.info.smallest, after) > 0)) ?? tables[0]!
  return jobFor(version, best, [pick], [[pick]])
}

function jobFor(version: Version, level: number, inputs: Table[], runs: Table[][]): CompactionJob {
  const outputLevel = level + 1
  const { smallest, largest } = rangeOf(inputs)
  const below = overlapping(version.levels[outputLevel]!, smallest, largest)
  const all = [...inputs, ...below]
  const range = rangeOf(all)
  return {
    level,
    outputLevel,
    inputs: all,
    runs: below.length > 0 ? [...runs, below] : runs,
    bottom: isBottom(version, outputLevel, range.smallest, range.largest),
    // A table some newer tombstone is pending on is rewritten instead: moving it would keep it
    // (and the tombstone) unapplied, level after level.
    move: inputs.length === 1 && below.length === 0 && !hasPendingTombstones(version.tombstones, inputs[0]!),
    drop: false,
  }
}

/**
 * Estimated bytes of `table` hidden by `fragments` (all newer than the table's entries): the
 * data blocks lying wholly inside a fragment, at the table's average block size.
 */
function coveredBytes(table: Table, fragments: readonly RangeTombstone[]): number {
  let blocks = 0
  for (const f of fragments) {
    const first = table.blockFor(f.start)
    const end = table.blockFor(f.end)
    blocks += Math.max(0, end - first - 1)
    // The first block is covered too when the fragment starts at or before the table.
    if (end > first && compareBytes(f.start, table.info.smallest) <= 0) blocks++
  }
  return (Math.min(blocks, table.blockCount) * table.info.bytes) / table.blockCount
}

/** The next job reclaiming range tombstones and what they cover (see the header), or undefined. */
function tombstoneJob(version: Version, options: CompactionOptions, reclaim: TombstoneReclaim): CompactionJob | undefined {
  const fragments = version.tombstones
  if (fragments.length === 0) return undefined
  const candidates: { level: number; table: Table; pending: RangeTombstone[]; covered: number }[] = []
  let whole: { level: number; table: Table } | undefined
  let coveredTotal = 0
  let bytesTotal = 0
  for (let level = 0; level < levelCount; level++) {
    for (const table of version.levels[level]!) {
      bytesTotal += table.info.bytes
      const pending = pendingTombstones(fragments, table)
      if (pending.length === 0) continue
      const isWhole = pending.some(
        (f) => compareBytes(f.start, table.info.smallest) <= 0 && compareBytes(f.end, table.info.largest) > 0 && f.seq > table.info.maxSeq,
      )
      const covered = isWhole ? table.info.bytes : coveredBytes(table, pending)
      coveredTotal += covered
      if (isWhole) whole ??= { level, table }
      else candidates.push({ level, table, pending, covered })
    }
  }
  // Counted before the free drops below, so what they free makes the rest due along with them.
  if (fragments.length >= options.rangeTombstoneCountTrigger || coveredTotal >= tombstoneGarbageRatio * bytesTotal) {
    for (const f of fragments) if (f.seq > reclaim.dueLsn) reclaim.dueLsn = f.seq
  }
  if (whole !== undefined) {
    const { level, table } = whole
    return { level, outputLevel: level, inputs: [table], runs: [[table]], bottom: false, move: false, drop: true }
  }
  let best: (typeof candidates)[number] | undefined
  for (const c of candidates) {
    if (!c.pending.some((f) => f.seq <= reclaim.dueLsn)) continue
    if (best === undefined || c.covered > best.covered || (c.covered === best.covered && c.pending.length > best.pending.length)) best = c
  }
  if (best === undefined) return undefined
  const { level, table } = best
  if (level === 0) {
    const l0 = version.levels[0]!
    return jobFor(version, 0, [...l0], l0.map((t) => [t]))
  }
  // In place: the output holds a subset of the input's keys, so it fits where the input was.
  return {
    level,
    outputLevel: level,
    inputs: [table],
    runs: [[table]],
    bottom: isBottom(version, level, table.info.smallest, table.info.largest),
    move: false,
    drop: false,
  }
}

/** Everything into one sorted run at the deepest non-empty level (at least 1). */
export function fullCompaction(version: Version): CompactionJob | undefined {
  if (version.tableCount === 0) return undefined
  let deepest = 1
  for (let l = 1; l < levelCount; l++) if (version.levels[l]!.length > 0) deepest = l
  const runs: Table[][] = version.levels[0]!.map((t) => [t])
  const inputs: Table[] = [...version.levels[0]!]
  for (let l = 1; l < levelCount; l++) {
    if (version.levels[l]!.length > 0) {
      runs.push([...version.levels[l]!])
      inputs.push(...version.levels[l]!)
    }
  }
  return { level: -1, outputLevel: deepest, inputs, runs, bottom: true, move: false, drop: false }
}

const unbounded: Bounds = { lower: undefined, lowerInclusive: true, upper: undefined, upperInclusive: true }

/**
 * Merges the job's inputs into `output` (the table-writing loop, see table-output.ts), dropping
 * what the job may drop, and finishes it: resolves to the new tables (durable, renamed,
 * directory synced). `tombstones`: the range tombstones of the base version (fragmented).
 */
export async function runCompaction(job: CompactionJob, tombstones: readonly RangeTombstone[], output: TableOutput): Promise<TableInfo[]> {
  assert(!job.move && !job.drop, 'a move or a drop needs no merge')
  const cursors: Cursor[] = job.runs.map((run) =>
    run.length === 1 ? new TableCursor(run[0]!, unbounded, false, false) : new LevelCursor(run, unbounded, false, false),
  )
  const merge = new MergeIterator(cursors, false)
  try {
    let ok = await merge.start()
    while (ok) {
      const dropped = (merge.value === undefined && job.bottom) || (tombstones.length > 0 && isCovered(tombstones, merge.key, merge.seq))
      const w = dropped ? output.skip() : output.add(merge.key, merge.seq, merge.value)
      if (w !== undefined) await w
      const r = merge.next()
      ok = r instanceof Promise ? await r : r
    }
    return await output.finish()
  } catch (e) {
    await output.abort()
    throw e
  }
}
