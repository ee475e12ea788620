/**
 * A backup set: many checkpoints of a store under one root, `ROOT/<name>/`, sharing identical
 * immutable files by hard links (not by content addressing: docs/backup-operations.md says why).
 * A checkpoint already hard-links the source's table files and sealed segments, so an unchanged
 * file is one inode in every backup that holds it. The few files a checkpoint writes itself are
 * linked from the newest backups when identical: the log frames it copies from an active segment
 * by the checkpoint (`linkFrom`), the catalog and the state manifests here, before the backup is
 * published (restore copies those, so a shared one is never written again).
 *
 * Invariants:
 * - a directory of ROOT whose name matches `backupNamePattern` and that holds the checkpoint's
 *   manifest is a complete backup: it gets that name only by one rename of a checkpoint that is
 *   finished and fsynced, and ROOT is fsynced after it;
 * - everything in progress lives under `ROOT/.staging/` (a checkpoint being made, a backup being
 *   deleted): never listed, removed by the next create or prune;
 * - creates and prunes of one root run one at a time (an OS lock on `ROOT/.lock`, plus a queue in
 *   this process); listing takes no lock (it reads complete backups only, and skips one that a
 *   prune renames away meanwhile);
 * - deleting a backup removes its directory entries only: a file also linked into a kept backup
 *   (or into the live store) keeps its other names and its bytes, so every kept backup still
 *   verifies.
 */
import { lstat } from 'node:fs/promises'
import { posix, resolve } from 'node:path'
import { mkdirDurable } from '../io/atomic-write.js'
import { sha256Hex } from '../io/checksum.js'
import { CairnError, isCairnError, isNotFound } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import { partitionIdPattern, type Store } from '../partition/index.js'
import { type CheckpointProgress, type CheckpointResult, checkpoint } from './checkpoint.js'
import { readCheckpointManifest } from './checkpoint-manifest.js'

/** Names of backups: the partition-id pattern, so a name is one safe path component. */
export const backupNamePattern = partitionIdPattern
/** Work in progress (checkpoints being made, backups being deleted); never a backup. */
export const backupStagingDirName = '.staging'
export const backupSetLockFileName = '.lock'
/** How many of the newest backups a new checkpoint may link its copied segments from. */
export const linkFromBackupsMax = 2
/**
 * Files a checkpoint writes fresh (catalog, state manifests) up to this size are linked from the
 * newest backup when identical; each is re-read and hashed first, so a damaged file is never shared.
 */
export const relinkBytesMax = 1024 * 1024

/** A complete backup of the set. */
export interface BackupInfo {
  name: string
  /** Absolute. */
  path: string
  createdAt: string
  /** The cut: each partition's LSN. */
  partitions: Record<string, number>
  files: number
  bytes: number
  /** Bytes of this backup's files that are the same inode as a file of another backup of the set. */
  sharedBytes: number
}

/** An entry of the root with a backup's name that is not a readable backup (damaged, or not ours). */
export interface BackupSetOther {
  name: string
  reason: string
}

export interface BackupSetListing {
  root: string
  /** Oldest first (by creation time, then name). */
  backups: BackupInfo[]
  others: BackupSetOther[]
  /** Bytes of distinct files over all backups (a file linked into several counts once). */
  uniqueBytes: number
}

export interface CreatedBackup extends CheckpointResult {
  name: string
}

export interface CreateBackupOptions {
  /** Default: a generated, time-sortable name (`20261201t203722123z`). */
  name?: string
  onProgress?: (p: CheckpointProgress) => void
  /** The clock for generated names (tests). */
  now?: () => Date
}

export interface PruneResult {
  kept: BackupInfo[]
  deleted: string[]
}

const fs: FileSystem = new NodeFileSystem()

/** Throws INVALID_ARGUMENT unless `name` is a backup name. */
export function assertBackupName(name: string): void {
  if (!backupNamePattern.test(name)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `invalid backup name ${JSON.stringify(name.slice(0, 80))}: use 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit`,
      { context: { name: name.slice(0, 80) } },
    )
  }
}

/** A name that sorts by time: `20261201t203722123z`, with `-2`, `-3`... when taken. */
export function generatedBackupName(now: Date, taken: ReadonlySet<string>): string {
  const base = now.toISOString().replace(/[-:.]/g, '').toLowerCase()
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`
}

/**
 * Makes a checkpoint of `store` as a new backup of the set at `root` (created if missing).
 *
 * @example
 * const { name, path, partitions } = await createBackup('/backups/orders', store)
 */
export async function createBackup(root: string, store: Store, options: CreateBackupOptions = {}): Promise<CreatedBackup> {
  if (options.name !== undefined) assertBackupName(options.name)
  const dir = resolve(root)
  await mkdirDurable(fs, posix.join(dir, backupStagingDirName))
  return await exclusively(dir, async () => {
    await cleanStaging(dir)
    const listing = await listBackups(dir, { sharing: false })
    const names = new Set(await fs.list(dir))
    const name = options.name ?? generatedBackupName((options.now ?? (() => new Date()))(), names)
    if (names.has(name)) {
      throw new CairnError('TARGET_NOT_EMPTY', `a backup named ${name} already exists in this backup set: choose another name`, { context: { name } })
    }
    const staged = posix.join(dir, backupStagingDirName, name)
    const final = posix.join(dir, name)
    const linkFrom = listing.backups
      .slice(-linkFromBackupsMax)
      .reverse()
      .map((b) => b.path)
    try {
      const made = await checkpoint(store, staged, { linkFrom, ...(options.onProgress !== undefined && { onProgress: options.onProgress }) })
      const newest = listing.backups.at(-1)
      if (newest !== undefined) await linkIdentical(staged, newest.path)
      await fs.rename(staged, final)
      await fs.syncDir(dir)
      await fs.syncDir(posix.join(dir, backupStagingDirName))
      return { ...made, name, path: final }
    } catch (e) {
      await fs.removeTree(staged).catch(() => undefined)
      throw e
    }
  })
}

/**
 * The complete backups of the set, oldest first. `sharing` (default true) stats every file to
 * count the bytes each backup shares with the others.
 *
 * @example
 * for (const b of (await listBackups('/backups/orders')).backups) console.log(b.name, b.partitions)
 */
export async function listBackups(root: string, options: { sharing?: boolean } = {}): Promise<BackupSetListing> {
  const dir = resolve(root)
  const entries = await listRoot(dir)
  const backups: BackupInfo[] = []
  const others: BackupSetOther[] = []
  const filesOf = new Map<string, Array<{ path: string; size: number }>>()
  for (const name of entries) {
    if (!backupNamePattern.test(name)) continue
    const path = posix.join(dir, name)
    const stat = await fs.stat(path)
    if (stat === undefined) continue // pruned meanwhile
    if (!stat.isDirectory) {
      others.push({ name, reason: 'not a directory' })
      continue
    }
    let manifest: Awaited<ReturnType<typeof readCheckpointManifest>>
    try {
      manifest = await readCheckpointManifest(path)
    } catch (e) {
      if ((await fs.stat(path)) === undefined) continue // pruned meanwhile
      others.push({ name, reason: isCairnError(e) ? `${e.code}: ${e.message}` : String(e) })
      continue
    }
    const files = manifest.files.map((f) => ({ path: posix.join(path, f.path), size: f.bytes }))
    filesOf.set(name, files)
    backups.push({
      name,
      path,
      createdAt: manifest.createdAt,
      partitions: manifest.partitions,
      files: files.length,
      bytes: files.reduce((sum, f) => sum + f.size, 0),
      sharedBytes: 0,
    })
  }
  backups.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  let uniqueBytes = 0
  if (options.sharing ?? true) {
    // inode -> backups holding it; a file that vanished (pruned meanwhile) is left out.
    const holders = new Map<string, Set<string>>()
    const inodes = new Map<string, Array<{ inode: string; size: number }>>()
    for (const b of backups) {
      const list: Array<{ inode: string; size: number }> = []
      for (const f of filesOf.get(b.name) ?? []) {
        const s = await lstat(f.path, { bigint: true }).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)))
        if (s === undefined) continue
        const inode = `${s.dev}:${s.ino}`
        list.push({ inode, size: f.size })
        if (!holders.has(inode)) {
          holders.set(inode, new Set())
          uniqueBytes += f.size
        }
        holders.get(inode)!.add(b.name)
      }
      inodes.set(b.name, list)
    }
    for (const b of backups) b.sharedBytes = (inodes.get(b.name) ?? []).reduce((sum, f) => sum + (holders.get(f.inode)!.size > 1 ? f.size : 0), 0)
  } else {
    uniqueBytes = backups.reduce((sum, b) => sum + b.bytes, 0)
  }
  return { root: dir, backups, others, uniqueBytes }
}

/**
 * Deletes the oldest backups so that `keep` remain. A file shared with a kept backup stays: each
 * backup is its own set of directory entries, and deleting one leaves the others' links.
 *
 * @example
 * const { deleted } = await pruneBackups('/backups/orders', 7)
 */
export async function pruneBackups(root: string, keep: number): Promise<PruneResult> {
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new CairnError('INVALID_ARGUMENT', `keep must be a whole number of at least 1 (got ${keep}): to delete a whole backup set, remove its directory`)
  }
  const dir = resolve(root)
  await listRoot(dir)
  await mkdirDurable(fs, posix.join(dir, backupStagingDirName))
  return await exclusively(dir, async () => {
    await cleanStaging(dir)
    const { backups } = await listBackups(dir, { sharing: false })
    const doomed = backups.slice(0, Math.max(0, backups.length - keep))
    for (const b of doomed) {
      // Renamed out of the root first (one atomic step, made durable), so a crash mid-delete
      // leaves trash in staging, never a half-deleted directory that looks like a backup.
      const trash = posix.join(dir, backupStagingDirName, `deleting-${b.name}`)
      await fs.rename(b.path, trash)
      await fs.syncDir(dir)
      await fs.removeTree(trash)
    }
    await fs.syncDir(posix.join(dir, backupStagingDirName))
    const kept = (await listBackups(dir)).backups
    return { kept, deleted: doomed.map((b) => b.name) }
  })
}

/**
 * Replaces each small file of the staged checkpoint that `previous` holds identically (same
 * path, size and SHA-256, checked against the bytes) by a hard link to it. A link goes to a
 * temp name first and is renamed over the fresh file, so the staged file is whole at every step.
 */
async function linkIdentical(staged: string, previous: string): Promise<void> {
  const mine = await readCheckpointManifest(staged)
  let theirs: Awaited<ReturnType<typeof readCheckpointManifest>>
  try {
    theirs = await readCheckpointManifest(previous)
  } catch {
    return // a damaged neighbour shares nothing
  }
  const byPath = new Map(theirs.files.map((f) => [f.path, f]))
  const dirs = new Set<string>()
  for (const f of mine.files) {
    const old = byPath.get(f.path)
    if (old === undefined || old.bytes !== f.bytes || old.sha256 !== f.sha256 || f.bytes > relinkBytesMax) continue
    const fresh = posix.join(staged, f.path)
    const from = posix.join(previous, f.path)
    const [a, b] = await Promise.all([lstat(fresh, { bigint: true }), lstat(from, { bigint: true }).catch(() => undefined)])
    if (b === undefined || (a.ino === b.ino && a.dev === b.dev)) continue
    if (sha256Hex(await fs.readFile(from)) !== f.sha256) continue
    const temp = `${fresh}.link-tmp`
    await fs.link(from, temp)
    await fs.rename(temp, fresh)
    dirs.add(posix.dirname(fresh))
  }
  for (const d of dirs) await fs.syncDir(d)
}

async function listRoot(dir: string): Promise<string[]> {
  const stat = await fs.stat(dir)
  if (stat === undefined || !stat.isDirectory) {
    throw new CairnError('STORE_NOT_FOUND', `no backup set at ${dir}: the directory does not exist (cairn backup create --into ${dir} makes one)`, {
      context: { dir },
    })
  }
  return await fs.list(dir)
}

/** Removes what a crashed create or prune left in staging (the caller holds the set's lock). */
async function cleanStaging(dir: string): Promise<void> {
  const staging = posix.join(dir, backupStagingDirName)
  const leftovers = await fs.list(staging)
  for (const name of leftovers) await fs.removeTree(posix.join(staging, name))
  if (leftovers.length > 0) await fs.syncDir(staging)
}

/** Per root, the tail of this process's queue of creates and prunes. */
const queues = new Map<string, Promise<unknown>>()

/** Runs `fn` alone on the set: after this process's earlier calls, under the set's OS lock. */
async function exclusively<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(dir) ?? Promise.resolve()
  const run = before.catch(() => undefined).then(() => locked(dir, fn))
  queues.set(dir, run)
  try {
    return await run
  } finally {
    if (queues.get(dir) === run) queues.delete(dir)
  }
}

async function locked<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  // Where the platform has no OS lock, only this process's queue serializes (documented).
  const lock = await fs.lockExclusive?.(posix.join(dir, backupSetLockFileName), new TextEncoder().encode(`${process.pid}\n`))
  if (lock === undefined && fs.lockExclusive !== undefined) {
    throw new CairnError('STORE_BUSY', `another process is creating or pruning a backup in ${dir}: retry when it is done`, { context: { dir } })
  }
  try {
    return await fn()
  } finally {
    await lock?.release()
  }
}
