/**
 * What `store.info()` reports of a partition without opening it.
 *
 * Invariants: a partition's figures are live when it is open; when it was closed since the
 * store opened they are exact as of that close (a closed partition does not change while the
 * store holds its lock); otherwise only what the catalog and one walk of its directory tell,
 * with no figure that would need its files opened (the walk lists and stats, one directory at a
 * time, and holds no descriptor).
 */
import { posix } from 'node:path'
import type { FileSystem } from '../io/file-system.js'
import { parseSegmentFileName } from '../log/segment-header.js'
import type { PartitionInfo } from './partition.js'

/** A partition not opened since the store opened: the catalog's entry and a look at its files. */
export interface UnopenedPartitionInfo {
  id: string
  /** The active log of its chain. */
  logId: string
  open: false
  /** The first LSN its log holds (the first segment of the oldest log of its chain). */
  firstLsn: number
  /** None: a hold keeps its partition open (listed for the same shape as an open partition's). */
  trimHolds: []
  /** Files under the partition's directory (log segments, tables, manifests). */
  fileCount: number
  /** Their bytes. */
  diskBytes: number
}

/** `open`: whether the partition is open now (its figures then are live). */
export type StorePartitionInfo = (PartitionInfo & { open: boolean }) | UnopenedPartitionInfo

/** True for the figures of a partition that was open at some point (live or as closed). */
export function hasPartitionFigures(info: StorePartitionInfo): info is PartitionInfo & { open: boolean } {
  return 'lastLsn' in info
}

/** Partitions `lookAtPartitions` looks at on disk at once. */
export const infoLooksMax = 8

/** What `lookAtPartitions` needs of a partition's catalog entry. */
export interface LookedAtEntry {
  /** The active log's id. */
  logId: string
  /** The partition's directory. */
  dir: string
  /** The oldest log of its chain: its directory and the LSN it started at. */
  oldestLogDir: string
  oldestLogFirstLsn: number
}

/**
 * What the catalog (`entryOf`) and a walk of each directory tell of the partitions `ids`,
 * `infoLooksMax` at a time.
 */
export async function lookAtPartitions(
  fs: FileSystem,
  ids: readonly string[],
  entryOf: (id: string) => LookedAtEntry,
): Promise<Map<string, UnopenedPartitionInfo>> {
  const looked = new Map<string, UnopenedPartitionInfo>()
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(infoLooksMax, ids.length) }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!
        const entry = entryOf(id)
        const firstLsn = await firstSegmentLsn(fs, entry.oldestLogDir, entry.oldestLogFirstLsn)
        looked.set(id, { id, logId: entry.logId, open: false, firstLsn, trimHolds: [], ...(await summarizeDir(fs, entry.dir)) })
      }
    }),
  )
  return looked
}

/** Files and bytes under `dir`, walked one directory at a time; a directory that vanished counts nothing. */
export async function summarizeDir(fs: FileSystem, dir: string): Promise<{ fileCount: number; diskBytes: number }> {
  let fileCount = 0
  let diskBytes = 0
  const pending = [dir]
  while (pending.length > 0) {
    const current = pending.pop()!
    let names: string[]
    try {
      names = await fs.list(current)
    } catch {
      continue
    }
    for (const name of names) {
      const path = posix.join(current, name)
      const stat = await fs.stat(path)
      if (stat === undefined) continue
      if (stat.isDirectory) pending.push(path)
      else {
        fileCount++
        diskBytes += stat.size
      }
    }
  }
  return { fileCount, diskBytes }
}

/**
 * The first LSN of a log, from its segment names (a trim removes whole segments from the front):
 * `startLsn` when it has none or cannot be listed.
 */
async function firstSegmentLsn(fs: FileSystem, logDir: string, startLsn: number): Promise<number> {
  let names: string[]
  try {
    names = await fs.list(logDir)
  } catch {
    return startLsn
  }
  let first = Number.POSITIVE_INFINITY
  for (const name of names) {
    const lsn = parseSegmentFileName(name)
    if (lsn !== undefined && lsn < first) first = lsn
  }
  return Number.isFinite(first) ? Math.max(first, startLsn) : startLsn
}
