/**
 * What a store does at open, under its lock, before it trusts anything on disk.
 *
 * Invariants:
 * - nothing is relied on before it is durable: the root, the catalog file and `partitions/` are
 *   fsynced first, and each partition's directory by the store before its first open (a rename
 *   whose directory fsync never ran, by a process that then died, is visible to us but could
 *   still vanish in a power loss);
 * - a missing catalog is never a fresh store while partition directories exist: that is
 *   CORRUPT_CATALOG, and nothing is created, moved or removed (not even `catalog.json.tmp`);
 * - nothing is deleted: a partition directory the catalog does not list (a crash mid-create, or
 *   an operator's copy) is moved into `lost+found/`, durably, for a human to look at.
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { mkdirDurable, tempSuffix } from '../io/atomic-write.js'
import { IoError, isNotFound } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { Catalog, catalogFileName } from './catalog.js'
import { catalogMissing, storeNotFound } from './not-found.js'

export const partitionsDirName = 'partitions'
export const lostAndFoundDirName = 'lost+found'

/**
 * Makes the store's layout durable, loads (or, when `create` and the store is empty, creates)
 * the catalog, and moves orphan partition directories aside. The caller holds the store lock.
 */
export async function recoverStore(fs: FileSystem, root: string, create: boolean): Promise<Catalog> {
  const partitionsDir = posix.join(root, partitionsDirName)
  await syncDir(fs, root)
  const catalogPath = posix.join(root, catalogFileName)
  let catalog: Catalog | undefined
  if ((await fs.stat(catalogPath)) !== undefined) {
    await syncFile(fs, catalogPath)
    catalog = await Catalog.load(fs, root)
  }
  if (catalog === undefined) {
    const found = await partitionDirs(fs, root)
    if (found.length > 0) throw catalogMissing(root, found)
    if (!create) throw storeNotFound(root)
    await removeIfPresent(fs, catalogPath + tempSuffix, root)
    await io('create', partitionsDir, () => mkdirDurable(fs, partitionsDir))
    return await Catalog.create(fs, root, randomBytes(8).toString('hex'))
  }
  // A crash mid-update leaves the temp file; the catalog it did not replace is the truth.
  await removeIfPresent(fs, catalogPath + tempSuffix, root)
  if ((await fs.stat(partitionsDir)) === undefined) {
    await io('create', partitionsDir, () => mkdirDurable(fs, partitionsDir))
    return catalog
  }
  await syncDir(fs, partitionsDir)
  const known = new Set(catalog.partitionIds())
  const orphans: string[] = []
  for (const name of await fs.list(partitionsDir)) {
    // A partition's own directory is synced by the store at its first open (before anything in
    // it is trusted), not here: start-up must not cost one fsync per partition.
    if (!known.has(name)) orphans.push(name)
  }
  if (orphans.length > 0) await moveToLostAndFound(fs, root, orphans)
  return catalog
}

/** Names in `<root>/lost+found`, sorted (empty when there is none). */
export async function lostAndFound(fs: FileSystem, root: string): Promise<string[]> {
  const dir = posix.join(root, lostAndFoundDirName)
  return (await fs.stat(dir)) === undefined ? [] : await fs.list(dir)
}

/** Partition directories on disk (a store without a catalog must have none). */
export async function partitionDirs(fs: FileSystem, root: string): Promise<string[]> {
  const dir = posix.join(root, partitionsDirName)
  return (await fs.stat(dir))?.isDirectory ? await fs.list(dir) : []
}

async function moveToLostAndFound(fs: FileSystem, root: string, names: string[]): Promise<void> {
  const partitionsDir = posix.join(root, partitionsDirName)
  const target = posix.join(root, lostAndFoundDirName)
  await io('create', target, () => mkdirDurable(fs, target))
  for (const name of names) {
    // A unique name: an id can be orphaned again later (created anew, then a crash mid-create).
    const to = posix.join(target, `${name}-${Date.now()}-${randomBytes(3).toString('hex')}`)
    await io('move orphan', posix.join(partitionsDir, name), () => fs.rename(posix.join(partitionsDir, name), to))
  }
  // The new entries first: a power loss between the two fsyncs must not lose the directory.
  await syncDir(fs, target)
  await syncDir(fs, partitionsDir)
}

async function removeIfPresent(fs: FileSystem, path: string, dir: string): Promise<void> {
  try {
    await fs.unlink(path)
  } catch (e) {
    if (isNotFound(e)) return
    throw new IoError('remove', path, e)
  }
  await syncDir(fs, dir)
}

async function syncFile(fs: FileSystem, path: string): Promise<void> {
  await io('sync', path, async () => {
    const handle = await fs.open(path, 'read')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  })
}

function syncDir(fs: FileSystem, path: string): Promise<void> {
  return io('sync directory', path, () => fs.syncDir(path))
}

async function io(what: string, path: string, run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (e) {
    throw new IoError(what, path, e)
  }
}
