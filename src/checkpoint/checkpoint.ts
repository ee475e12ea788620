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
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { CairnError, IoError, isCairnError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { copySegmentSuffix } from '../log/index.js'
import { Catalog, type CatalogData, type CatalogPartition, type LogCut, type Partition, type RetainedState, type Store, StoreLayout } from '../partition/index.js'
import { closeHandle, copyPrefix, hashFile, linkOrCopy } from './checkpoint-files.js'
import { type CheckpointFile, type CheckpointManifest, cairnVersion, checkpointFormat, checkpointFormatVersion, checkpointManifestFile, encodeCheckpointManifest, readCheckpointManifest } from './checkpoint-manifest.js'
import { assertTargetEmpty, prepareParent, publish, tempDirFor } from './checkpoint-target.js'
import { runLimited } from './run-limited.js'

/** Files linked, copied or hashed at once (overlaps the latency of many small file operations). */
export const checkpointFileConcurrency = 8

export interface CheckpointProgress {
  /** `files` while linking and copying, `metadata` while writing the catalog and manifests, `done`. */
  phase: string
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
}

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

/** One partition as the cut took it. */
interface TakenPartition {
  id: string
  partition: Partition
  state: RetainedState
  cut: LogCut
  releaseTrim: () => void
}

/** One file to bring from the store into the checkpoint. */
interface PlannedFile {
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

/** Digests of the store's immutable files this process already read: their paths are never reused. */
const knownDigests = new WeakMap<Store, Map<string, { bytes: number; sha256: string }>>()

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
  const linkFrom = await readLinkFrom(fs, options.linkFrom ?? [])
  const kept = await keepAllOpen(store)
  let taken: TakenPartition[] = []
  try {
    const cut = takeCut(store, kept.map((k) => k.partition), `checkpoint ${target}`)
    taken = cut.taken
    await options.hooks?.afterCut?.()
    const temp = tempDirFor(target)
    try {
      const result = await build(store, fs, temp, target, cut.catalog, taken, linkFrom, options)
      await options.hooks?.beforeRename?.()
      await publish(fs, temp, target, 'the checkpoint')
      return result
    } catch (e) {
      await fs.removeTree(temp).catch(() => undefined)
      throw e
    }
  } finally {
    for (const t of taken) {
      t.state.release()
      t.releaseTrim()
    }
    for (const k of kept) k.release()
  }
}

/** Opens every partition the store has and keeps it open (out of the pool's reach) until released. */
async function keepAllOpen(store: Store): Promise<Array<{ partition: Partition; release: () => void }>> {
  const kept: Array<{ partition: Partition; release: () => void }> = []
  try {
    for (const id of store.partitions()) {
      const partition = await store.partition(id).catch((e: unknown) => {
        // Opening a partition may fail with the file system's own error: name the step.
        throw isCairnError(e) ? e : new IoError('open partition', posix.join(store.dir, 'partitions', id), e)
      })
      // In the turn `partition` resolved in: the pool evicts only in a later macrotask.
      kept.push({ partition, release: partition.keepOpen() })
    }
  } catch (e) {
    for (const k of kept) k.release()
    throw e
  }
  return kept
}

/** The cut, synchronously (no await: nothing else runs between the first partition and the last). */
function takeCut(store: Store, partitions: Partition[], who: string): { taken: TakenPartition[]; catalog: CatalogData } {
  const catalog = store.catalog.data
  const taken: TakenPartition[] = []
  try {
    for (const partition of partitions) {
      const state = partition.retainState()
      let releaseTrim: () => void
      try {
        releaseTrim = partition.holdTrim(state.lsn + 1, who)
      } catch (e) {
        state.release()
        throw e
      }
      taken.push({ id: partition.id, partition, state, cut: partition.cut(), releaseTrim })
    }
  } catch (e) {
    for (const t of taken) {
      t.state.release()
      t.releaseTrim()
    }
    throw e
  }
  return { taken, catalog }
}

/** Builds the whole checkpoint under `temp`, durable; returns what it made. */
async function build(
  store: Store,
  fs: FileSystem,
  temp: string,
  target: string,
  catalog: CatalogData,
  taken: TakenPartition[],
  linkFrom: Map<string, Array<{ dir: string; file: CheckpointFile }>>,
  options: CheckpointOptions,
): Promise<CheckpointResult> {
  const createdAt = new Date().toISOString()
  const layout = new StoreLayout(posix.resolve(store.dir))
  const planned: PlannedFile[] = []
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
    for (const f of t.state.files) planned.push({ path: relativeTo(layout.root, f.path), from: f.path, bytes: f.bytes, copy: false })
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
    planned.push(...segments)
    logsOf.set(t.id, segments)
    entries[t.id] = source
  }
  const progress = new Progress(planned.reduce((n, f) => n + f.bytes, 0), planned.length, options.onProgress)
  const dirs = new Set<string>([partitionsDirName])
  for (const f of [...planned, ...manifests]) for (let d = posix.dirname(f.path); d !== '.'; d = posix.dirname(d)) dirs.add(d)
  await withIoError('create', temp, () => fs.mkdir(temp))
  for (const d of [...dirs].sort()) await withIoError('create', posix.join(temp, d), () => fs.mkdir(posix.join(temp, d), true))

  const digests = knownDigests.get(store) ?? new Map<string, { bytes: number; sha256: string }>()
  const nextDigests = new Map<string, { bytes: number; sha256: string }>()
  const files: CheckpointFile[] = []
  let linkedFiles = 0
  let copiedFiles = 0
  await runLimited(planned, checkpointFileConcurrency, async (f) => {
    const to = posix.join(temp, f.path)
    let sha256: string
    if (f.tailFromLsn !== undefined) {
      let copied = 0
      const counted = (n: number): void => {
        copied += n
        progress.bytes(n)
      }
      const tail = await copySegmentSuffix(fs, f.from, f.bytes, f.tailFromLsn, posix.dirname(to), counted).catch((e: unknown) => {
        throw isCairnError(e) ? e : new IoError('copy', f.from, e)
      })
      // The frames the state holds were skipped: done too.
      progress.bytes(f.bytes - copied)
      f.path = posix.join(posix.dirname(f.path), posix.basename(tail.path))
      f.log!.firstLsn = tail.firstLsn
      f.bytes = tail.bytes
      sha256 = tail.sha256
      if (await linkEarlier(fs, tail.path, f, sha256, linkFrom)) linkedFiles++
      else copiedFiles++
    } else if (f.copy) {
      sha256 = await copyPrefix(fs, f.from, to, f.bytes, progress.bytes)
      if (await linkEarlier(fs, to, f, sha256, linkFrom)) linkedFiles++
      else copiedFiles++
    } else {
      const made = await linkOrCopy(fs, f.from, to, f.bytes, progress.bytes)
      if (made.linked) {
        linkedFiles++
        const known = digests.get(f.from)
        sha256 = known?.bytes === f.bytes ? known.sha256 : ((await digestOfSameFile(fs, to, f, linkFrom)) ?? (await hashFile(fs, to, f.bytes)))
        nextDigests.set(f.from, { bytes: f.bytes, sha256 })
        progress.bytes(f.bytes)
      } else {
        copiedFiles++
        sha256 = made.sha256
      }
    }
    files.push({ path: f.path, bytes: f.bytes, sha256 })
    progress.file()
  })
  knownDigests.set(store, nextDigests)
  // Each log of the chain from the first segment the checkpoint holds (a tail's LSN is known now).
  for (const [id, segments] of logsOf) {
    const logs: CatalogPartition['logs'] = []
    for (const f of segments) if (logs[logs.length - 1]?.logId !== f.log!.logId) logs.push({ ...f.log! })
    entries[id] = { ...entries[id]!, logs, activeLogId: logs[logs.length - 1]!.logId }
  }

  progress.phase('metadata')
  await runLimited(manifests, checkpointFileConcurrency, async (m) => {
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

const manifestName = 'MANIFEST'
const catalogName = 'catalog.json'
const partitionsDirName = 'partitions'

/** The files of the cut holding `fromLsn..lastLsn` (from the one holding `fromLsn`; the last always). */
export function neededLogFiles(cut: LogCut, fromLsn: number): LogCut['files'] {
  const files = cut.files
  assert(files.length > 0, 'a store partition logs to files')
  let first = 0
  while (first < files.length - 1 && files[first + 1]!.firstLsn <= fromLsn) first++
  assert(files[first]!.firstLsn <= fromLsn || first === 0, 'the trim hold keeps the segment holding the state LSN + 1')
  return files.slice(first)
}

/** Replaces the copy at `to` by a link to an identical file of an earlier checkpoint, if one has it. */
async function linkEarlier(fs: FileSystem, to: string, f: PlannedFile, sha256: string, linkFrom: Map<string, Array<{ dir: string; file: CheckpointFile }>>): Promise<boolean> {
  const match = linkFrom.get(f.path)?.find((c) => c.file.bytes === f.bytes && c.file.sha256 === sha256)
  if (match === undefined) return false
  const aside = `${to}.link`
  try {
    await fs.link(posix.join(match.dir, f.path), aside)
  } catch {
    return false
  }
  await withIoError('rename', aside, () => fs.rename(aside, to))
  return true
}

/**
 * The digest an earlier checkpoint recorded for the very file `to` links (same relative path and
 * size, and one identity: the same inode), if one has it: no need to read it again.
 */
async function digestOfSameFile(fs: FileSystem, to: string, f: PlannedFile, linkFrom: Map<string, Array<{ dir: string; file: CheckpointFile }>>): Promise<string | undefined> {
  const candidates = linkFrom.get(f.path)?.filter((c) => c.file.bytes === f.bytes) ?? []
  if (candidates.length === 0) return undefined
  const identity = (await withIoError('stat', to, () => fs.stat(to)))?.identity
  if (identity === undefined) return undefined
  for (const c of candidates) {
    const earlier = await fs.stat(posix.join(c.dir, f.path)).catch(() => undefined)
    if (earlier?.identity === identity && earlier.size === f.bytes) return c.file.sha256
  }
  return undefined
}

/** The files of the earlier checkpoints by relative path; unreadable ones are skipped (an optimization only). */
async function readLinkFrom(fs: FileSystem, dirs: string[]): Promise<Map<string, Array<{ dir: string; file: CheckpointFile }>>> {
  const byPath = new Map<string, Array<{ dir: string; file: CheckpointFile }>>()
  for (const dir of dirs) {
    const absolute = posix.resolve(dir)
    const manifest = await readCheckpointManifest(absolute, { fs }).catch(() => undefined)
    for (const file of manifest?.files ?? []) {
      const list = byPath.get(file.path) ?? []
      list.push({ dir: absolute, file })
      byPath.set(file.path, list)
    }
  }
  return byPath
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

function relativeTo(root: string, path: string): string {
  const relative = posix.relative(root, posix.resolve(path))
  assert(relative !== '' && !relative.startsWith('..') && !posix.isAbsolute(relative), `a store file is under the store root (${path})`)
  return relative
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Progress as the caller sees it: counts only grow; one call per file and per copied chunk. */
class Progress {
  readonly #report: ((p: CheckpointProgress) => void) | undefined
  readonly #state: CheckpointProgress

  constructor(bytesTotal: number, filesTotal: number, report: ((p: CheckpointProgress) => void) | undefined) {
    this.#report = report
    this.#state = { phase: 'files', filesDone: 0, filesTotal, bytesDone: 0, bytesTotal }
    this.#emit()
  }

  readonly bytes = (n: number): void => {
    this.#state.bytesDone += n
    this.#emit()
  }

  file(): void {
    this.#state.filesDone += 1
    this.#emit()
  }

  phase(phase: string): void {
    this.#state.phase = phase
    this.#emit()
  }

  #emit(): void {
    this.#report?.({ ...this.#state })
  }
}
