/**
 * Restoring a checkpoint: a new store at `to`, built from the checkpoint's files under a temp
 * name beside `to` and renamed into place whole. The checkpoint is verified first.
 *
 * Invariants:
 * - the checkpoint is never written and never shares a file the restored store will change: the
 *   last segment of each log (the restored store appends to it, and its open may cut or rewrite
 *   its end), the catalog and the state manifests are copied; table files and the other
 *   segments, which the store only reads and deletes by unlink, are hard-linked (copied across
 *   devices);
 * - the restored store has a new storeId: it is another store from now on (snapshot writer
 *   fencing keys on the storeId, and two stores must never claim one);
 * - `to` is absent or empty until it appears whole (TARGET_NOT_EMPTY otherwise); every copied
 *   file and every directory is fsynced before the rename (a linked file's data is durable
 *   already), and the parent after it.
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { CorruptionError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import { Catalog } from '../partition/index.js'
import { copyPrefix, linkOrCopy } from './checkpoint-files.js'
import { type CheckpointFile, readCheckpointManifest } from './checkpoint-manifest.js'
import type { CheckpointProgress } from './checkpoint.js'
import { assertTargetEmpty, prepareParent, publish, tempDirFor } from './checkpoint-target.js'
import { verifyCheckpoint } from './verify-checkpoint.js'

export interface RestoreCheckpointOptions {
  onProgress?: (progress: CheckpointProgress) => void
  fs?: FileSystem
  /** @internal The caller verified the checkpoint just now (a deep verification restoring it). */
  verified?: boolean
}

export interface RestoreCheckpointResult {
  /** The restored store's absolute path. */
  path: string
  /** The cut the checkpoint holds (each partition's last LSN in the restored store). */
  partitions: Record<string, number>
  /** The restored store's new id. */
  storeId: string
}

const catalogPath = 'catalog.json'
const segmentPattern = /\/logs\/[0-9a-f]+\/\d{20}\.log$/

/**
 * @example
 * await restoreCheckpoint('/backups/2026-12-01', '/data-restored')
 * const store = await Store.open('/data-restored')
 */
export async function restoreCheckpoint(dir: string, to: string, options: RestoreCheckpointOptions = {}): Promise<RestoreCheckpointResult> {
  const fs = options.fs ?? new NodeFileSystem()
  const root = posix.resolve(dir)
  const target = posix.resolve(to)
  await assertTargetEmpty(fs, target, 'the restore')
  if (options.verified !== true) {
    const verified = await verifyCheckpoint(root, { fs })
    if (!verified.ok) {
      const named = verified.problems.map((p) => `${p.path} (${p.problem})`).join(', ')
      throw new CorruptionError('CORRUPT_CHECKPOINT', `checkpoint ${root} does not verify: ${named}. Run cairn backup verify ${root} for details; restore another backup`, {
        context: { path: root, problems: verified.problems.length },
      })
    }
  }
  const manifest = await readCheckpointManifest(root, { fs })
  await prepareParent(fs, target)
  const temp = tempDirFor(target)
  const storeId = randomBytes(8).toString('hex')
  try {
    const copied = lastSegments(manifest.files)
    copied.add(catalogPath)
    for (const f of manifest.files) if (f.path.endsWith('/MANIFEST')) copied.add(f.path)
    const dirs = new Set<string>(['partitions'])
    for (const f of manifest.files) for (let d = posix.dirname(f.path); d !== '.'; d = posix.dirname(d)) dirs.add(d)
    await withIoError('create', temp, () => fs.mkdir(temp))
    for (const d of [...dirs].sort()) await withIoError('create', posix.join(temp, d), () => fs.mkdir(posix.join(temp, d), true))
    const state: CheckpointProgress = { phase: 'files', filesDone: 0, filesTotal: manifest.files.length, bytesDone: 0, bytesTotal: manifest.files.reduce((n, f) => n + f.bytes, 0) }
    const emit = (): void => options.onProgress?.({ ...state })
    const bytes = (n: number): void => {
      state.bytesDone += n
      emit()
    }
    emit()
    for (const f of manifest.files) {
      if (f.path === catalogPath) continue
      const from = posix.join(root, f.path)
      const into = posix.join(temp, f.path)
      if (copied.has(f.path)) {
        const sha256 = await copyPrefix(fs, from, into, f.bytes, bytes)
        if (sha256 !== f.sha256) throw changed(root, f)
      } else {
        const made = await linkOrCopy(fs, from, into, f.bytes, bytes)
        if (!made.linked && made.sha256 !== f.sha256) throw changed(root, f)
        // A linked file's data is durable already (the checkpoint made it so); its entry gets the directory fsync.
        if (made.linked) bytes(f.bytes)
      }
      state.filesDone++
      emit()
    }
    const catalog = await Catalog.load(fs, root)
    if (catalog === undefined) throw changed(root, { path: catalogPath, bytes: 0, sha256: '' })
    await Catalog.replace(fs, temp, { ...catalog.data, storeId })
    state.filesDone++
    state.phase = 'metadata'
    emit()
    for (const d of [...dirs].sort().reverse()) await withIoError('sync directory', posix.join(temp, d), () => fs.syncDir(posix.join(temp, d)))
    await withIoError('sync directory', temp, () => fs.syncDir(temp))
    await publish(fs, temp, target, 'the restore')
    state.phase = 'done'
    emit()
  } catch (e) {
    await fs.removeTree(temp).catch(() => undefined)
    throw e
  }
  return { path: target, partitions: manifest.partitions, storeId }
}

/** The last segment of each log directory (the one the restored store writes to). */
function lastSegments(files: CheckpointFile[]): Set<string> {
  const last = new Map<string, string>()
  for (const f of files) {
    if (!segmentPattern.test(f.path)) continue
    const dir = posix.dirname(f.path)
    const known = last.get(dir)
    if (known === undefined || f.path > known) last.set(dir, f.path)
  }
  return new Set(last.values())
}

function changed(root: string, f: CheckpointFile): CorruptionError {
  return new CorruptionError('CORRUPT_CHECKPOINT', `${f.path} in checkpoint ${root} changed while it was restored: verify the checkpoint and restore again`, {
    context: { path: posix.join(root, f.path) },
  })
}
