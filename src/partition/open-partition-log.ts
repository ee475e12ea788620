/**
 * Opening a partition's log chain: the one place that turns a catalog entry into the `Log` the
 * partition writes through, and the partition's share of recovery, done at its first open
 * rather than at the store's (so opening a store does not grow with its partitions).
 *
 * Invariants:
 * - nothing in a partition's directory is trusted before it is durable: the partition's
 *   directory and its `logs/` are fsynced before the chain is opened (a rename or creation
 *   whose directory fsync never ran, by a process that died, is visible but could vanish in a
 *   power loss; docs/crash-model.md);
 * - the active log of an existing partition must be on disk: a missing log directory is
 *   CORRUPT_LOG, never silently a new empty log (that would drop acknowledged records);
 * - what the catalog does not name is a leftover of an operation that crashed or had not yet
 *   cleaned up (a roll or restore before its catalog switch, a trim or restore after it, the
 *   format-1 `log/` after the upgrade): it is removed, durably, before the chain opens. Only
 *   names the store generates are removed; anything else is left alone;
 * - a dropped sealed log leaves the catalog first, then the disk.
 */
import { randomBytes } from 'node:crypto'
import { assert } from '../io/assert.js'
import { CorruptionError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { FileLog } from '../log/file-log.js'
import type { Durability } from '../log/log.js'
import { LogChain, type LogChainLink } from '../log/log-chain.js'
import type { Catalog, CatalogPartition } from './catalog.js'
import { isStoreFileId, legacyLogDirName, logsDirName, type StoreLayout, stateDirName, statesDirName } from './store-layout.js'

/** The log tunables a store passes to every partition's logs. */
export interface PartitionLogSettings {
  durability?: Durability | undefined
  segmentBytesMax?: number | undefined
  recordBytesMax?: number | undefined
  batchBytesMax?: number | undefined
}

/** A fresh id for a log or a state directory (32 hex characters: a segment header holds 16 bytes of log id). */
export function newStoreFileId(): string {
  return randomBytes(16).toString('hex')
}

export interface OpenPartitionLogOptions {
  fs: FileSystem
  layout: StoreLayout
  catalog: Catalog
  id: string
  entry: CatalogPartition
  settings: PartitionLogSettings
  /** The entry is not in the catalog yet: create its log (default false: it must exist). */
  create?: boolean
  /**
   * The store closed this partition cleanly in this process and nothing touched its files since:
   * skip the partition's recovery (its directory fsyncs and leftover removal) and the active
   * log's recovery fsyncs (`LogOptions.trustedClean`). Default false.
   */
  trustedClean?: boolean
}

/**
 * Opens the partition's chain of logs as its catalog entry describes it.
 *
 * @example
 * const log = await openPartitionLog({ fs, layout, catalog, id: 'orders', entry: catalog.partition('orders')!, settings: {} })
 */
export async function openPartitionLog(options: OpenPartitionLogOptions): Promise<LogChain> {
  const { fs, layout, catalog, id, entry, settings } = options
  const active = entry.logs[entry.logs.length - 1]!
  const activeDir = layout.logDir(id, active.logId)
  const trusted = options.trustedClean === true && options.create !== true
  if (options.create !== true) {
    if (!trusted) await recoverPartitionFiles(fs, layout, id, entry)
    if ((await fs.stat(activeDir)) === undefined) throw logMissing(id, activeDir)
  }
  const log = await openFileLog(fs, activeDir, active.logId, active.firstLsn, settings, false, trusted)
  return await LogChain.open({
    links: entry.logs,
    active: log,
    name: `partition ${id}`,
    openSealed: (link) => openFileLog(fs, layout.logDir(id, link.logId), link.logId, link.firstLsn, settings, true),
    dropSealed: (drop) => dropSealedLogs(fs, layout, catalog, id, drop),
  })
}

export function openFileLog(
  fs: FileSystem,
  dir: string,
  logId: string,
  startLsn: number,
  settings: PartitionLogSettings,
  readOnly = false,
  trustedClean = false,
): Promise<FileLog> {
  return FileLog.open({
    fs,
    dir,
    logId,
    startLsn,
    readOnly,
    ...(trustedClean && { trustedClean }),
    ...(settings.durability !== undefined && { durability: settings.durability }),
    ...(settings.segmentBytesMax !== undefined && { segmentBytesMax: settings.segmentBytesMax }),
    ...(settings.recordBytesMax !== undefined && { recordBytesMax: settings.recordBytesMax }),
    ...(settings.batchBytesMax !== undefined && { batchBytesMax: settings.batchBytesMax }),
  })
}

/**
 * The partition's part of store recovery: makes its directories durable and removes what the
 * catalog entry does not name (see the header). Idempotent.
 */
export async function recoverPartitionFiles(fs: FileSystem, layout: StoreLayout, id: string, entry: CatalogPartition): Promise<void> {
  const partitionDir = layout.partitionDir(id)
  await syncDir(fs, partitionDir)
  const names = new Set(await list(fs, partitionDir))
  let removed = false
  if (names.has(legacyLogDirName)) {
    // Format 1's log, left by an upgrade that had linked every segment into logs/<logId>/
    // and written the new catalog before it crashed.
    await removeTree(fs, layout.legacyLogDir(id))
    removed = true
  }
  if (entry.stateId !== undefined && names.has(stateDirName)) {
    // The state a restore replaced (the catalog names the new one).
    await removeTree(fs, layout.stateDir(id, undefined))
    removed = true
  }
  if (removed) await syncDir(fs, partitionDir)
  const listed = new Set(entry.logs.map((l) => l.logId))
  if (names.has(logsDirName)) {
    await removeUnlisted(fs, layout.logsDir(id), (name) => !listed.has(name), (name) => layout.logDir(id, name))
  }
  if (names.has(statesDirName)) {
    await removeUnlisted(fs, layout.statesDir(id), (name) => name !== entry.stateId, (name) => layout.stateHome(id, name))
  }
}

async function removeUnlisted(fs: FileSystem, dir: string, unlisted: (name: string) => boolean, pathOf: (name: string) => string): Promise<void> {
  await syncDir(fs, dir)
  const leftovers = (await list(fs, dir)).filter((name) => isStoreFileId(name) && unlisted(name))
  for (const name of leftovers) await removeTree(fs, pathOf(name))
  if (leftovers.length > 0) await syncDir(fs, dir)
}

/** Drops whole sealed logs from the front of the chain: the catalog first, then the files. */
async function dropSealedLogs(fs: FileSystem, layout: StoreLayout, catalog: Catalog, id: string, drop: readonly LogChainLink[]): Promise<void> {
  await catalog.update((c) => {
    const entry = c.partitions[id]
    assert(entry !== undefined, `partition ${id} is in the catalog while its log is open`)
    assert(drop.length < entry.logs.length, 'the active log is never dropped')
    for (const [i, link] of drop.entries()) assert(entry.logs[i]?.logId === link.logId, `log ${link.logId} is at the front of partition ${id}'s chain`)
    entry.logs = entry.logs.slice(drop.length)
  })
  for (const link of drop) await removeTree(fs, layout.logDir(id, link.logId))
  await syncDir(fs, layout.logsDir(id))
}

function logMissing(id: string, dir: string): CorruptionError {
  return new CorruptionError('CORRUPT_LOG', `partition ${id}: its log ${dir} is missing: restore the partition from a backup`, {
    context: { partition: id, dir },
  })
}

function syncDir(fs: FileSystem, path: string): Promise<void> {
  return withIoError('sync directory', path, () => fs.syncDir(path))
}

function list(fs: FileSystem, path: string): Promise<string[]> {
  return withIoError('list', path, () => fs.list(path))
}

function removeTree(fs: FileSystem, path: string): Promise<void> {
  return withIoError('remove', path, () => fs.removeTree(path))
}

export interface RollPartitionLogOptions {
  fs: FileSystem
  layout: StoreLayout
  catalog: Catalog
  id: string
  /** The partition's open chain (its `log`). */
  chain: LogChain
  settings: PartitionLogSettings
}

/**
 * Rolls the partition's chain over to a new log (internal: used by restore-like operations and
 * tests): the active log sealed and closed, a new one created at its last LSN + 1 (its directory
 * durable), then the catalog's chain extended in one atomic update, and only then the switch.
 * A crash before the update leaves the old chain (the new, empty log directory is removed at
 * the next open); after it, the new chain.
 *
 * @example
 * const link = await rollPartitionLog({ fs, layout, catalog, id: 'orders', chain, settings: {} })
 */
export function rollPartitionLog(options: RollPartitionLogOptions): Promise<LogChainLink> {
  const { fs, layout, catalog, id, chain, settings } = options
  return chain.roll({
    open: (firstLsn) => {
      const logId = newStoreFileId()
      return openFileLog(fs, layout.logDir(id, logId), logId, firstLsn, settings)
    },
    commit: (link) =>
      catalog.update((c) => {
        const entry = c.partitions[id]
        assert(entry !== undefined, `partition ${id} is in the catalog while its log is open`)
        assert(entry.activeLogId === chain.logId, 'the chain rolled is the one the catalog names')
        entry.logs.push(link)
        entry.activeLogId = link.logId
      }),
  })
}
