/**
 * Restoring a partition from a state: a new partition, or the replacement of an existing one,
 * whose state is bulk-loaded from a sorted entry stream at LSN `lsn` (applied and durable) and
 * whose log is a new one starting at `lsn + 1`; or, with `keepLog`, an existing partition whose
 * state alone is replaced while its log chain stays (the repair of a trim gap: the records after
 * `lsn` are replayed at the next open, not lost).
 *
 * Invariants:
 * - everything is built beside what is live, under new names (a new state directory
 *   `states/<stateId>/`, a new log `logs/<logId>/`), each durable, and one catalog update
 *   switches the partition to them: a crash before it leaves the old partition (state and log)
 *   whole, a crash after it the new one; never a mix;
 * - what the switch made unreachable (the old state and logs) is deleted after it; a crash
 *   before that leaves leftovers the partition's next open removes (open-partition-log.ts),
 *   as it removes a new state or log a crash left before the switch;
 * - the entries are checked as they stream (bytes, non-empty keys within the limits, values
 *   within the limits, strictly increasing keys): a bad one is a typed error and nothing is
 *   switched;
 * - with `keepLog`, the chain must continue the state: it holds `lsn + 1` (TRIM_GAP otherwise)
 *   and ends at or after `lsn` (INVALID_ARGUMENT otherwise), checked before anything is built.
 */
import { mkdirDurable } from '../io/atomic-write.js'
import { assert } from '../io/assert.js'
import { CairnError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { validateKey, validateValue } from '../state/limits.js'
import { LsmTree } from '../state/lsm-tree.js'
import { type Catalog, type CatalogPartition, newCatalogPartition } from './catalog.js'
import { partitionNotFound } from './not-found.js'
import { newStoreFileId, openFileLog, openPartitionLog, type PartitionLogSettings } from './open-partition-log.js'
import type { StoreLayout } from './store-layout.js'
import { trimGap } from './trim-gap.js'

/** What a partition is restored from. */
export interface RestorePartitionInput {
  /** The LSN the state is at (0 for none yet): the partition's applied and durable LSN; its log starts at `lsn + 1`. */
  lsn: number
  /** Every key and value of the state, in strictly increasing bytewise key order. */
  entries: AsyncIterable<readonly [Uint8Array, Uint8Array]> | Iterable<readonly [Uint8Array, Uint8Array]>
  /**
   * Keep the partition's log chain (default false: a new log at `lsn + 1`): only the state is
   * replaced, and the log's records after `lsn` are replayed into it when it opens. The
   * partition must exist and its log must hold `lsn + 1` (or end at `lsn`).
   */
  keepLog?: boolean
}

export interface RestorePartitionOptions {
  fs: FileSystem
  layout: StoreLayout
  catalog: Catalog
  id: string
  input: RestorePartitionInput
  settings: PartitionLogSettings
}

/**
 * Builds the restored state and log, switches the catalog to them, removes what they replace;
 * returns the partition's new catalog entry. The caller has closed the partition if it was open,
 * and no other operation on this partition runs meanwhile.
 *
 * @example
 * const entry = await restorePartitionFiles({ fs, layout, catalog, id: 'orders', input: { lsn: 42, entries }, settings: {} })
 */
export async function restorePartitionFiles(options: RestorePartitionOptions): Promise<CatalogPartition> {
  const { fs, layout, catalog, id, input, settings } = options
  const { lsn } = input
  if (!Number.isSafeInteger(lsn) || lsn < 0) {
    throw new CairnError('INVALID_ARGUMENT', `a restore's lsn is a non-negative integer (got ${String(lsn)})`, { context: { partition: id } })
  }
  if (input.keepLog === true) return await restoreStateKeepingLog(options)
  const previous = catalog.partition(id)
  const stateId = newStoreFileId()
  const logId = newStoreFileId()
  const partitionDir = layout.partitionDir(id)
  const createdDir = (await fs.stat(partitionDir)) === undefined
  try {
    await buildState(fs, layout, id, stateId, input)
    const log = await openFileLog(fs, layout.logDir(id, logId), logId, lsn + 1, settings)
    await log.close()
  } catch (e) {
    // Nothing names what was built: remove it now (a crash would leave it to the next open).
    if (createdDir) await fs.removeTree(partitionDir).catch(() => undefined)
    else {
      await fs.removeTree(layout.stateHome(id, stateId)).catch(() => undefined)
      await fs.removeTree(layout.logDir(id, logId)).catch(() => undefined)
    }
    throw e
  }
  const entry: CatalogPartition = {
    ...newCatalogPartition(logId, lsn + 1, stateId),
    ...(previous !== undefined && { createdAtMs: previous.createdAtMs, meta: previous.meta }),
  }
  await catalog.update((c) => {
    c.partitions[id] = entry
  })
  if (previous !== undefined) {
    // Unreachable now; a crash here leaves them to the partition's next open.
    for (const link of previous.logs) await withIoError('remove', layout.logDir(id, link.logId), () => fs.removeTree(layout.logDir(id, link.logId)))
    await withIoError('sync directory', layout.logsDir(id), () => fs.syncDir(layout.logsDir(id)))
    await removeState(fs, layout, id, previous.stateId)
  }
  return entry
}

/** Keeps the chain, replaces the state (see the header): the restore of `keepLog`. */
async function restoreStateKeepingLog(options: RestorePartitionOptions): Promise<CatalogPartition> {
  const { fs, layout, catalog, id, input, settings } = options
  const { lsn } = input
  const previous = catalog.partition(id)
  if (previous === undefined) throw partitionNotFound(id)
  // The chain as it is now (its first LSN may be inside its oldest log, after a trim): opened,
  // recovered like at a partition's open, and closed before anything is built.
  const chain = await openPartitionLog({ fs, layout, catalog, id, entry: previous, settings })
  const { firstLsn, lastLsn } = chain
  await chain.close()
  if (lsn + 1 < firstLsn) throw trimGap(id, lsn + 1, firstLsn, lastLsn)
  if (lsn > lastLsn) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `restore of ${id}: a state at LSN ${lsn} is past the end of its log (${lastLsn}), which cannot continue it: restore without keepLog (a new log at ${lsn + 1})`,
      { context: { partition: id, lsn, lastLsn } },
    )
  }
  const stateId = newStoreFileId()
  try {
    await buildState(fs, layout, id, stateId, input)
  } catch (e) {
    await fs.removeTree(layout.stateHome(id, stateId)).catch(() => undefined)
    throw e
  }
  let entry: CatalogPartition | undefined
  await catalog.update((c) => {
    const current = c.partitions[id]
    assert(current !== undefined && current.activeLogId === previous.activeLogId, `partition ${id}'s chain did not change during its restore`)
    current.stateId = stateId
    entry = structuredClone(current)
  })
  // Unreachable now; a crash here leaves it to the partition's next open.
  await removeState(fs, layout, id, previous.stateId)
  return entry!
}

/** Bulk-loads the entries at `lsn` into the new state directory `states/<stateId>/`, durably. */
async function buildState(fs: FileSystem, layout: StoreLayout, id: string, stateId: string, input: RestorePartitionInput): Promise<void> {
  await withIoError('create', layout.statesDir(id), () => mkdirDurable(fs, layout.statesDir(id)))
  const tree = await LsmTree.open({ fs, dir: layout.stateDir(id, stateId) })
  try {
    await tree.bulkLoad(checkedEntries(id, input.entries), input.lsn)
    assert(tree.durableLsn === input.lsn, 'a bulk load is durable at its LSN')
  } finally {
    await tree.close()
  }
}

/** Removes a state the catalog no longer names (`stateId` undefined: the partition's `state/`), durably. */
async function removeState(fs: FileSystem, layout: StoreLayout, id: string, stateId: string | undefined): Promise<void> {
  const oldState = stateId === undefined ? layout.stateDir(id, undefined) : layout.stateHome(id, stateId)
  await withIoError('remove', oldState, () => fs.removeTree(oldState))
  const parent = stateId === undefined ? layout.partitionDir(id) : layout.statesDir(id)
  await withIoError('sync directory', parent, () => fs.syncDir(parent))
}

/** The entries, checked as they stream: bytes, key and value limits, strictly increasing keys. */
async function* checkedEntries(id: string, entries: RestorePartitionInput['entries']): AsyncGenerator<[Uint8Array, Uint8Array]> {
  let previous: Uint8Array | undefined
  let index = 0
  for await (const pair of entries) {
    const [key, value] = Array.isArray(pair) ? pair : []
    const context = { partition: id, entry: index }
    if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array)) {
      throw new CairnError('INVALID_ARGUMENT', `restore of ${id}: entry ${index} is not a [key, value] pair of Uint8Arrays`, { context })
    }
    if (key.length === 0) throw new CairnError('KEY_EMPTY', `restore of ${id}: entry ${index} has an empty key: keys are 1 to 65,536 bytes`, { context })
    validateKey(key)
    validateValue(value)
    if (previous !== undefined && Buffer.compare(previous, key) >= 0) {
      throw new CairnError('INVALID_ARGUMENT', `restore of ${id}: entry ${index} is not after the one before it: entries must be sorted by key, each key once`, {
        context,
      })
    }
    previous = key.slice()
    index += 1
    yield [key, value]
  }
}
