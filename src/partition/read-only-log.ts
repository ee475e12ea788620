/**
 * A partition's chain of logs opened read-only, beside the process that owns the store: the one
 * place the read-only side turns a catalog entry into a log (paths from store-layout.ts).
 *
 * Invariants:
 * - nothing is written: every log of the chain is a read-only file log (no recovery, no
 *   markers, no trims), and the chain is given no way to drop logs;
 * - the chain shows only records the writer's logs prove fsynced (a sealed log is wholly
 *   durable), so a reader never sees a write that a crash of the writer could still take back;
 * - a log the owner dropped (trimmed away) after the catalog named it reads as LSN_TRIMMED, the
 *   way a trimmed segment does; a chain the owner rolled or trimmed since is seen by opening
 *   the chain again from a fresh catalog entry (`sameChain` tells when).
 */
import { CairnError, isCairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { FileLog } from '../log/file-log.js'
import { LogChain } from '../log/log-chain.js'
import type { CatalogLog, CatalogPartition } from './catalog.js'
import { StoreLayout } from './store-layout.js'

/** A partition's chain opened read-only, with its active log (to look for the writer's new records). */
export interface ReadOnlyPartitionLog {
  chain: LogChain
  /** The chain's last log, read-only: `refresh()` picks up what the writer added to it. */
  active: FileLog
  /** The chain as the catalog entry named it. */
  links: CatalogLog[]
}

/** The directory of a partition's state tree (the restored one when the catalog names one). */
export function partitionStateDir(root: string, id: string, entry: CatalogPartition): string {
  return new StoreLayout(root).stateDir(id, entry.stateId)
}

/** Opens the partition's chain of logs, as `entry` names it, read-only. */
export async function openReadOnlyLog(
  fs: FileSystem,
  root: string,
  id: string,
  entry: CatalogPartition,
  options: { pollIntervalMs?: number } = {},
): Promise<ReadOnlyPartitionLog> {
  const layout = new StoreLayout(root)
  const open = async (link: CatalogLog): Promise<FileLog> => {
    try {
      return await FileLog.open({
        fs,
        dir: layout.logDir(id, link.logId),
        logId: link.logId,
        readOnly: true,
        ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
      })
    } catch (e) {
      if (isCairnError(e, 'IO_ERROR') && e.context.errno === 'ENOENT') throw logDropped(id, link, e)
      throw e
    }
  }
  const links = entry.logs.map((l) => ({ ...l }))
  const active = await open(links[links.length - 1]!)
  const chain = await LogChain.open({ links, active, openSealed: open, name: `partition ${id}` })
  return { chain, active, links }
}

/** True when the catalog still names the chain a reader opened (no roll, no trim of a whole log since). */
export function sameChain(opened: readonly CatalogLog[], now: readonly CatalogLog[]): boolean {
  return opened.length === now.length && opened.every((l, i) => l.logId === now[i]!.logId && l.firstLsn === now[i]!.firstLsn)
}

function logDropped(id: string, link: CatalogLog, cause: unknown): CairnError {
  return new CairnError(
    'LSN_TRIMMED',
    `log ${link.logId} of partition ${id} (from LSN ${link.firstLsn}) was trimmed away by the store's owner: read again from the partition's first LSN`,
    { context: { partition: id, logId: link.logId, lsn: link.firstLsn }, cause },
  )
}
