/**
 * What a store does at open, under its lock, before it trusts anything on disk.
 *
 * Invariants:
 * - nothing is relied on before it is durable: the root, the catalog file and `partitions/` are
 *   fsynced first (a rename whose directory fsync never ran, by a process that then died, is
 *   visible to us but could still vanish in a power loss); each partition's own directories are
 *   fsynced at its first open (open-partition-log.ts), before anything in them is trusted, so
 *   opening a store costs O(1) file operations plus one listing of `partitions/`;
 * - a missing catalog is never a fresh store while partition directories exist: that is
 *   CORRUPT_CATALOG, and nothing is created, moved or removed (not even `catalog.json.tmp`);
 * - nothing is deleted: a partition directory the catalog does not list (a crash mid-create, or
 *   an operator's copy) is moved into `lost+found/`, durably, for a human to look at.
 */
import { randomBytes } from 'node:crypto'
import { mkdirDurable, tempSuffix } from '../io/atomic-write.js'
import { IoError, isNotFound, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { Catalog, catalogVersion } from './catalog.js'
import { catalogMissing, storeNotFound } from './not-found.js'
import { StoreLayout } from './store-layout.js'
import { upgradeStore } from './store-upgrade.js'

/**
 * Makes the store's layout durable, loads (or, when `create` and the store is empty, creates)
 * the catalog, and moves orphan partition directories aside. The caller holds the store lock.
 */
export async function recoverStore(fs: FileSystem, root: string, create: boolean): Promise<Catalog> {
  const layout = new StoreLayout(root)
  const partitionsDir = layout.partitionsDir
  await syncDir(fs, root)
  const catalogPath = layout.catalogFile
  let catalog: Catalog | undefined
  if ((await fs.stat(catalogPath)) !== undefined) {
    await syncFile(fs, catalogPath)
    const loaded = await Catalog.loadAny(fs, root)
    // Format 1 is upgraded here, before anything else looks at the partitions (store-upgrade.ts).
    catalog = loaded?.version === catalogVersion ? loaded.catalog : loaded === undefined ? undefined : await upgradeStore(fs, root, loaded.data)
  }
  if (catalog === undefined) {
    const found = await partitionDirs(fs, root)
    if (found.length > 0) throw catalogMissing(root, found)
    if (!create) throw storeNotFound(root)
    await removeIfPresent(fs, catalogPath + tempSuffix, root)
    await withIoError('create', partitionsDir, () => mkdirDurable(fs, partitionsDir))
    return await Catalog.create(fs, root, randomBytes(8).toString('hex'))
  }
  // A crash mid-update leaves the temp file; the catalog it did not replace is the truth.
  await removeIfPresent(fs, catalogPath + tempSuffix, root)
  if ((await fs.stat(partitionsDir)) === undefined) {
    await withIoError('create', partitionsDir, () => mkdirDurable(fs, partitionsDir))
    return catalog
  }
  await syncDir(fs, partitionsDir)
  // Each partition's own directories are made durable at its first open (open-partition-log.ts):
  // opening a store costs the same whatever its number of partitions.
  const known = new Set(catalog.partitionIds())
  const orphans = (await fs.list(partitionsDir)).filter((name) => !known.has(name))
  if (orphans.length > 0) await moveToLostAndFound(fs, root, orphans)
  return catalog
}

/** Names in `<root>/lost+found`, sorted (empty when there is none). */
export async function lostAndFound(fs: FileSystem, root: string): Promise<string[]> {
  const dir = new StoreLayout(root).lostAndFoundDir
  return (await fs.stat(dir)) === undefined ? [] : await fs.list(dir)
}

/** Partition directories on disk (a store without a catalog must have none). */
export async function partitionDirs(fs: FileSystem, root: string): Promise<string[]> {
  const dir = new StoreLayout(root).partitionsDir
  return (await fs.stat(dir))?.isDirectory ? await fs.list(dir) : []
}

async function moveToLostAndFound(fs: FileSystem, root: string, names: string[]): Promise<void> {
  const layout = new StoreLayout(root)
  const partitionsDir = layout.partitionsDir
  const target = layout.lostAndFoundDir
  await withIoError('create', target, () => mkdirDurable(fs, target))
  for (const name of names) {
    // A unique name: an id can be orphaned again later (created anew, then a crash mid-create).
    const from = layout.partitionsEntry(name)
    const to = layout.lostAndFoundEntry(`${name}-${Date.now()}-${randomBytes(3).toString('hex')}`)
    await withIoError('move orphan', from, () => fs.rename(from, to))
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
  await withIoError('sync', path, async () => {
    const handle = await fs.open(path, 'read')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  })
}

function syncDir(fs: FileSystem, path: string): Promise<void> {
  return withIoError('sync directory', path, () => fs.syncDir(path))
}
