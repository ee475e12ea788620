/**
 * The plan of a checkpoint: which files of the store it takes, and how (linked, copied, or only
 * a segment's tail), decided from the cut before any file is made.
 *
 * Invariants:
 * - a partition's plan is its tables at the state's LSN `d` (linked), its manifest of exactly
 *   those tables (the retained version's bytes, written fresh), and its log from the segment
 *   holding `d + 1` to the cut's end `l`;
 * - nothing planned as a link is a file the source will change: table files and sealed segments
 *   are immutable; the last segment of the cut, and any whose size on disk is not the cut's, are
 *   copied (only their acknowledged prefix; a lone last segment only from `d + 1` on);
 * - every path is relative to the store root and to the checkpoint root alike; a partition being
 *   restored while the cut was taken (its state directory is not the catalog's) is `STORE_BUSY`.
 */
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { CairnError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { type CatalogData, type CatalogPartition, type LogCut, StoreLayout } from '../partition/index.js'
import type { TakenPartition } from './checkpoint-cut.js'

export const manifestName = 'MANIFEST'
export const catalogName = 'catalog.json'
export const partitionsDirName = 'partitions'

/** One file to bring from the store into the checkpoint. */
export interface PlannedFile {
  /** Relative to the store root and to the checkpoint root alike (a segment tail's is set once it is made). */
  path: string
  from: string
  bytes: number
  /** Copied (the source may still change it) or linked. */
  copy: boolean
  /** A log segment: its log, and its first LSN in the checkpoint (a segment tail's is set once it is made). */
  log?: { logId: string; firstLsn: number }
  /** Copy only the frames from the one holding this LSN on (the state holds the ones before). */
  tailFromLsn?: number
}

export interface CheckpointPlan {
  /** Table files and log segments, in partition order. */
  files: PlannedFile[]
  /** State manifests to write fresh (relative path, bytes). */
  manifests: Array<{ path: string; bytes: Uint8Array }>
  /** The cut: the last LSN of each partition. */
  partitions: Record<string, number>
  /** The catalog entry of each partition as the source has it (its logs are set once segments are made). */
  entries: Record<string, CatalogPartition>
  /** The planned segments of each partition, in log order. */
  logsOf: Map<string, PlannedFile[]>
  /** Every directory the checkpoint needs, relative, parents included. */
  dirs: Set<string>
}

/**
 * Plans the checkpoint of the partitions `taken` (stats the log segments of the cut).
 *
 * @example
 * const plan = await planCheckpoint(store.dir, fs, catalog, taken)
 * for (const f of plan.files) console.log(f.path, f.copy ? 'copy' : 'link')
 */
export async function planCheckpoint(storeDir: string, fs: FileSystem, catalog: CatalogData, taken: TakenPartition[]): Promise<CheckpointPlan> {
  const layout = new StoreLayout(posix.resolve(storeDir))
  const files: PlannedFile[] = []
  const partitions: Record<string, number> = {}
  const entries: Record<string, CatalogPartition> = {}
  const logsOf = new Map<string, PlannedFile[]>()
  const manifests: Array<{ path: string; bytes: Uint8Array }> = []
  for (const t of taken) {
    const source = catalog.partitions[t.id]
    const stateDir = layout.stateDir(t.id, source?.stateId)
    if (source === undefined || posix.resolve(t.state.dir) !== stateDir) {
      throw new CairnError('STORE_BUSY', `partition ${t.id} was being restored while the checkpoint was taken: take the checkpoint again`, { context: { partition: t.id } })
    }
    partitions[t.id] = t.cut.lastLsn
    for (const f of t.state.files) files.push({ path: relativeTo(layout.root, f.path), from: f.path, bytes: f.bytes, copy: false })
    manifests.push({ path: relativeTo(layout.root, posix.join(stateDir, manifestName)), bytes: t.state.manifest })
    const logFiles = neededLogFiles(t.cut, t.state.lsn + 1)
    const segments: PlannedFile[] = []
    for (const [i, f] of logFiles.entries()) {
      const path = relativeTo(layout.root, f.path)
      assert(posix.dirname(f.path) === layout.logDir(t.id, f.logId), 'a cut file is a segment of the partition log it names')
      const stat = await withIoError('stat', f.path, () => fs.stat(f.path))
      // The last segment may still grow (or be cut back after a failed write): copy its prefix,
      // and when it is the only segment needed, only its frames from the state's LSN + 1 on.
      const last = i === logFiles.length - 1
      const segment: PlannedFile = { path, from: f.path, bytes: f.bytes, copy: last || stat?.size !== f.bytes, log: { logId: f.logId, firstLsn: f.firstLsn } }
      if (last && logFiles.length === 1) segment.tailFromLsn = t.state.lsn + 1
      segments.push(segment)
    }
    files.push(...segments)
    logsOf.set(t.id, segments)
    entries[t.id] = source
  }
  const dirs = new Set<string>([partitionsDirName])
  for (const f of [...files, ...manifests]) for (let d = posix.dirname(f.path); d !== '.'; d = posix.dirname(d)) dirs.add(d)
  return { files, manifests, partitions, entries, logsOf, dirs }
}

/** The files of the cut holding `fromLsn..lastLsn` (from the one holding `fromLsn`; the last always). */
export function neededLogFiles(cut: LogCut, fromLsn: number): LogCut['files'] {
  const files = cut.files
  assert(files.length > 0, 'a store partition logs to files')
  let first = 0
  while (first < files.length - 1 && files[first + 1]!.firstLsn <= fromLsn) first++
  assert(files[first]!.firstLsn <= fromLsn || first === 0, 'the trim hold keeps the segment holding the state LSN + 1')
  return files.slice(first)
}

function relativeTo(root: string, path: string): string {
  const relative = posix.relative(root, posix.resolve(path))
  assert(relative !== '' && !relative.startsWith('..') && !posix.isAbsolute(relative), `a store file is under the store root (${path})`)
  return relative
}
