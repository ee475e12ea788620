/**
 * Restoring a partition from a state: a new partition, or the replacement of an existing one,
 * whose state is bulk-loaded from a sorted entry stream at LSN `lsn` (applied and durable) and
 * whose log is a new one starting at `lsn + 1`.
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
 *   switched.
 */
import { mkdirDurable } from '../io/atomic-write.js'
import { assert } from '../io/assert.js'
import { CairnError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { validateKey, validateValue } from '../state/limits.js'
import { LsmTree } from '../state/lsm-tree.js'
import { type Catalog, type CatalogPartition, newCatalogPartition } from './catalog.js'
import { newStoreFileId, openFileLog, type PartitionLogSettings } from './open-partition-log.js'
import type { StoreLayout } from './store-layout.js'

/** What a partition is restored from. */
export interface RestorePartitionInput {
  /** The LSN the state is at (0 for none yet): the partition's applied and durable LSN; its log starts at `lsn + 1`. */
  lsn: number
  /** Every key and value of the state, in strictly increasing bytewise key order. */
  entries: AsyncIterable<readonly [Uint8Array, Uint8Array]> | Iterable<readonly [Uint8Array, Uint8Array]>
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
  const previous = catalog.partition(id)
  const stateId = newStoreFileId()
  const logId = newStoreFileId()
  const partitionDir = layout.partitionDir(id)
  const createdDir = (await fs.stat(partitionDir)) === undefined
  try {
    await withIoError('create', layout.statesDir(id), () => mkdirDurable(fs, layout.statesDir(id)))
    const tree = await LsmTree.open({ fs, dir: layout.stateDir(id, stateId) })
    try {
      await tree.bulkLoad(checkedEntries(id, input.entries), lsn)
      assert(tree.durableLsn === lsn, 'a bulk load is durable at its LSN')
    } finally {
      await tree.close()
    }
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
    const oldState = previous.stateId === undefined ? layout.stateDir(id, undefined) : layout.stateHome(id, previous.stateId)
    await withIoError('remove', oldState, () => fs.removeTree(oldState))
    const parent = previous.stateId === undefined ? partitionDir : layout.statesDir(id)
    await withIoError('sync directory', parent, () => fs.syncDir(parent))
  }
  return entry
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
