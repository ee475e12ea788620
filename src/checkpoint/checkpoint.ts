/**
 * A checkpoint of a live store: a directory that is itself a store (restore it with
 * `restoreCheckpoint`), holding every partition as of one cut, made by hard-linking immutable
 * files and copying only the acknowledged prefix of each active log segment.
 *
 * Invariants:
 * - one cut: every partition is opened (and kept open) first; then, in one synchronous stretch
 *   with no await, each partition's retained state (tables at its durable LSN `d`), its log cut
 *   (acknowledged end `l`) and a trim hold from `d + 1` are taken. Every write acknowledged
 *   before the call is at or below `l`; a batch is one log group, and a cut holds whole groups,
 *   so no batch is split; writers never wait for the checkpoint;
 * - the checkpoint of a partition is its tables at `d` (linked), its manifest of exactly those
 *   tables (written fresh from the retained version), and its log from the segment holding
 *   `d + 1` to `l` (sealed segments linked, the last one copied up to the cut), so opening it
 *   replays `d + 1..l` and holds exactly the state at `l`;
 * - nothing in the checkpoint is shared with a file the source will change: table files and
 *   sealed segments are immutable (deleted only by unlink), and a segment the source may still
 *   append to or truncate (the last of the cut, or any whose size is not the cut's) is copied;
 * - everything is durable before the rename: each file written or copied is fsynced; a linked
 *   file's data already is (the source fsynced it before publishing it: a table before the
 *   manifest named it, a sealed segment when it was sealed), so only its new directory entry
 *   needs an fsync, which every directory gets (an fsync of a clean file costs a disk flush
 *   anyway: skipping it makes a checkpoint several times faster). CHECKPOINT.json is written
 *   last, and the directory appears under its name only by one rename of the whole (then the
 *   parent is fsynced): a crash leaves no directory under the target name that is not whole;
 * - the pins (retained states, trim holds, kept-open partitions) are released when the call
 *   settles, also on failure; the source's files are never written.
 */
import { posix } from 'node:path'
import { CairnError, withIoError } from '../io/errors.js'
import { sha256Hex } from '../io/checksum.js'
import type { FileSystem } from '../io/file-system.js'
import { Catalog, type CatalogData, type CatalogPartition, type Store } from '../partition/index.js'
import { closeHandle } from './checkpoint-files.js'
import { keepAllOpen, releaseCut, type TakenPartition, takeCheckpointCut } from './checkpoint-cut.js'
import { type CheckpointManifest, cairnVersion, checkpointFormat, checkpointFormatVersion, checkpointManifestFile, encodeCheckpointManifest } from './checkpoint-manifest.js'
import { catalogName, planCheckpoint } from './checkpoint-plan.js'
import { type CheckpointProgress, CheckpointProgressMeter } from './checkpoint-progress.js'
import { assertTargetEmpty, prepareParent, publish, tempDirFor } from './checkpoint-target.js'
import { checkpointFileConcurrency, copyPlannedFiles } from './copy-planned-files.js'
import { type EarlierCheckpoints, readEarlierCheckpoints } from './earlier-checkpoints.js'
import { runLimited } from './run-limited.js'

export { checkpointFileConcurrency } from './copy-planned-files.js'
export type { CheckpointProgress } from './checkpoint-progress.js'

/** @internal Pause points for tests: the checkpoint awaits each before going on. */
export interface CheckpointHooks {
  /**
   * After the cut is taken (pins held), before any file is made. Called in the very turn of the
   * cut, so what it reads synchronously (a partition's `readSnapshot()`) is at the cut.
   */
  afterCut?: () => void | Promise<void>
  /** When the checkpoint is whole and durable under its temp name, before the rename. */
  beforeRename?: () => void | Promise<void>
}

export interface CheckpointOptions {
  onProgress?: (progress: CheckpointProgress) => void
  /**
   * Earlier checkpoint directories: a file this checkpoint copies (an active segment) that one of
   * them holds identically (same relative path, size and SHA-256 in its CHECKPOINT.json) is
   * hard-linked from there instead of kept as a second copy (backup sets share space that way),
   * and a file one of them holds as the very same file (one inode) takes its SHA-256 from there
   * instead of being read again.
   */
  linkFrom?: string[]
  /** @internal */
  hooks?: CheckpointHooks
}

export interface CheckpointResult {
  /** The checkpoint's absolute path. */
  path: string
  /** The cut: the last LSN of each partition in the checkpoint. */
  partitions: Record<string, number>
  /** ISO 8601, as in CHECKPOINT.json. */
  createdAt: string
  /** Files listed in CHECKPOINT.json (every file but itself). */
  files: number
  /** Their bytes. */
  bytes: number
  /** Files hard-linked (from the store, or from a `linkFrom` checkpoint). */
  linkedFiles: number
  /** Files copied from the store (active segments; everything across devices). */
  copiedFiles: number
}

/**
 * Takes a consistent checkpoint of `store` into `dir` (absent or empty; TARGET_NOT_EMPTY
 * otherwise). Writers go on meanwhile; the returned LSNs say where the cut was.
 *
 * @example
 * const cp = await checkpoint(store, '/backups/2026-12-01')
 * console.log(cp.partitions) // { orders: 1042, users: 77 }
 */
export async function checkpoint(store: Store, dir: string, options: CheckpointOptions = {}): Promise<CheckpointResult> {
  const fs = store.fs
  const target = posix.resolve(dir)
  const root = posix.resolve(store.dir)
  if (isWithin(root, target) || isWithin(target, root)) {
    throw new CairnError('INVALID_ARGUMENT', `a checkpoint of ${root} cannot be made at ${target}: choose a directory outside the store`, { context: { path: target } })
  }
  await assertTargetEmpty(fs, target, 'the checkpoint')
  await prepareParent(fs, target)
  const earlier = await readEarlierCheckpoints(fs, options.linkFrom ?? [])
  const kept = await keepAllOpen(store)
  let taken: TakenPartition[] = []
  try {
    const cut = takeCheckpointCut(store, kept.map((k) => k.partition), `checkpoint ${target}`)
    taken = cut.taken
    await options.hooks?.afterCut?.()
    const temp = tempDirFor(target)
    try {
      const result = await build(store, fs, temp, target, cut.catalog, taken, earlier, options)
      await options.hooks?.beforeRename?.()
      await publish(fs, temp, target, 'the checkpoint')
      return result
    } catch (e) {
      await fs.removeTree(temp).catch(() => undefined)
      throw e
    }
  } finally {
    releaseCut(taken, kept)
  }
}

/** Builds the whole checkpoint under `temp`, durable; returns what it made. */
async function build(
  store: Store,
  fs: FileSystem,
  temp: string,
  target: string,
  catalog: CatalogData,
  taken: TakenPartition[],
  earlier: EarlierCheckpoints,
  options: CheckpointOptions,
): Promise<CheckpointResult> {
  const createdAt = new Date().toISOString()
  const plan = await planCheckpoint(store.dir, fs, catalog, taken)
  const { partitions, entries, dirs } = plan
  const progress = new CheckpointProgressMeter(plan.files.reduce((n, f) => n + f.bytes, 0), plan.files.length, options.onProgress)
  await withIoError('create', temp, () => fs.mkdir(temp))
  for (const d of [...dirs].sort()) await withIoError('create', posix.join(temp, d), () => fs.mkdir(posix.join(temp, d), true))

  const { files, linkedFiles, copiedFiles } = await copyPlannedFiles(store, plan.files, temp, earlier, progress)
  // Each log of the chain from the first segment the checkpoint holds (a tail's LSN is known now).
  for (const [id, segments] of plan.logsOf) {
    const logs: CatalogPartition['logs'] = []
    for (const f of segments) if (logs[logs.length - 1]?.logId !== f.log!.logId) logs.push({ ...f.log! })
    entries[id] = { ...entries[id]!, logs, activeLogId: logs[logs.length - 1]!.logId }
  }

  progress.phase('metadata')
  await runLimited(plan.manifests, checkpointFileConcurrency, async (m) => {
    await writeNew(fs, posix.join(temp, m.path), m.bytes)
    files.push({ path: m.path, bytes: m.bytes.length, sha256: sha256Hex(m.bytes) })
  })
  await Catalog.replace(fs, temp, { ...catalog, partitions: entries })
  const catalogBytes = await withIoError('read', posix.join(temp, catalogName), () => fs.readFile(posix.join(temp, catalogName)))
  files.push({ path: catalogName, bytes: catalogBytes.length, sha256: sha256Hex(catalogBytes) })
  // All before CHECKPOINT.json, in any order (at once: the journal commits them together).
  await runLimited([...dirs], checkpointFileConcurrency, (d) => withIoError('sync directory', posix.join(temp, d), () => fs.syncDir(posix.join(temp, d))))
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const manifest: CheckpointManifest = {
    format: checkpointFormat,
    version: checkpointFormatVersion,
    cairnVersion,
    storeId: catalog.storeId,
    createdAt,
    partitions,
    files,
  }
  await writeNew(fs, posix.join(temp, checkpointManifestFile), encodeCheckpointManifest(manifest))
  await withIoError('sync directory', temp, () => fs.syncDir(temp))
  progress.phase('done')
  const bytes = files.reduce((n, f) => n + f.bytes, 0)
  return { path: target, partitions, createdAt, files: files.length, bytes, linkedFiles, copiedFiles }
}

async function writeNew(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const handle = await withIoError('create', path, () => fs.open(path, 'createNew'))
  try {
    await withIoError('write', path, () => handle.write(bytes, 0))
    await withIoError('fsync', path, () => handle.sync())
  } finally {
    await closeHandle(handle)
  }
}

/** True when `path` is `dir` or below it. */
function isWithin(dir: string, path: string): boolean {
  const relative = posix.relative(dir, path)
  return relative === '' || (relative !== '..' && !relative.startsWith('../') && !posix.isAbsolute(relative))
}
