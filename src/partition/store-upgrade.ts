/**
 * Upgrading a store of format 1 (one `partitions/<id>/log/` per partition) to format 2 (a chain
 * of logs per partition, `partitions/<id>/logs/<logId>/`), at open, under the store's lock.
 *
 * The steps, each durable before the next and each safe to run again:
 * 1. for every partition of the format-1 catalog: hard-link each file of `log/` into
 *    `logs/<logId>/` (the log keeps its id: its segment headers carry it), skipping names
 *    already linked, then fsync `logs/<logId>/`. Links, not a rename: a rename across
 *    directories is two directory operations, and a power loss between their fsyncs could
 *    leave the log under neither name; a link only adds a name, so `log/` stays whole until
 *    the new names are durable. No byte is copied;
 * 2. write the format-2 catalog (atomically: temp, fsync, rename, fsync dir): from here the
 *    store is format 2, each partition a chain of one log, its state where it was;
 * 3. remove `log/`, at each partition's first open (open-partition-log.ts), so opening a store
 *    stays O(1) in its partitions.
 *
 * How a half-upgraded store is recognised: a catalog of format 1 means steps 1-2 have not
 * finished (whatever `logs/` holds is a subset of links to the very files of `log/`), so they
 * run again; a catalog of format 2 beside a partition's `log/` means only step 3 is left. The
 * segments are never written during the upgrade: `log/` and `logs/<logId>/` name the same files.
 */
import { mkdirDurable, tempSuffix } from '../io/atomic-write.js'
import { CorruptionError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { Catalog, type CatalogData, type CatalogDataLegacy, catalogVersion, newCatalogPartition } from './catalog.js'
import { isPartitionId } from './partition-id.js'
import { isStoreFileId, StoreLayout } from './store-layout.js'

/**
 * Upgrades the store at `root` from format 1 and returns its format-2 catalog.
 *
 * @example
 * const loaded = await Catalog.loadAny(fs, root)
 * const catalog = loaded?.version === 1 ? await upgradeStore(fs, root, loaded.data) : loaded?.catalog
 */
export async function upgradeStore(fs: FileSystem, root: string, legacy: CatalogDataLegacy): Promise<Catalog> {
  const layout = new StoreLayout(root)
  const next: CatalogData = {
    format: legacy.format,
    version: catalogVersion,
    storeId: legacy.storeId,
    createdAtMs: legacy.createdAtMs,
    epoch: legacy.epoch,
    partitions: {},
  }
  for (const id of Object.keys(legacy.partitions ?? {}).sort()) {
    const old = legacy.partitions[id]!
    if (!isPartitionId(id) || !isStoreFileId(old?.logId)) {
      throw new CorruptionError('CORRUPT_CATALOG', `catalog of ${root} (format 1) names partition ${JSON.stringify(id)} with a log id cairn does not generate: restore catalog.json from a backup`, {
        context: { dir: root },
      })
    }
    await linkLegacyLog(fs, layout, id, old.logId)
    next.partitions[id] = { ...newCatalogPartition(old.logId, 1), createdAtMs: old.createdAtMs, meta: old.meta ?? {} }
  }
  return await Catalog.replace(fs, root, next)
}

/** Step 1 for one partition: every file of `log/` also named in `logs/<logId>/`, durably. */
async function linkLegacyLog(fs: FileSystem, layout: StoreLayout, id: string, logId: string): Promise<void> {
  const from = layout.legacyLogDir(id)
  const to = layout.logDir(id, logId)
  if ((await fs.stat(from)) === undefined) return // never created, or damaged: the partition's open says so
  await withIoError('create', to, () => mkdirDurable(fs, to))
  const present = new Set(await fs.list(to))
  for (const name of await fs.list(from)) {
    // A temp file is a crashed writer's leftover, removed by the log's open anyway.
    if (name.endsWith(tempSuffix) || present.has(name)) continue
    await withIoError('link', `${from}/${name}`, () => fs.link(`${from}/${name}`, `${to}/${name}`))
  }
  await withIoError('sync directory', to, () => fs.syncDir(to))
}
