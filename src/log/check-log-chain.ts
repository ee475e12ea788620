/**
 * The check a log chain passes at open: each sealed log is opened briefly (read-only) and its
 * range and files noted, so the chain holds no descriptor for it afterwards.
 *
 * Invariants:
 * - a chain that passes is contiguous: each log's first LSN is the previous log's last LSN + 1,
 *   and the active log ends no earlier than its start - 1 (CORRUPT_LOG otherwise);
 * - every sealed log opened here is closed again, whether the check passes or not.
 */
import { assert } from '../io/assert.js'
import { CorruptionError } from '../io/errors.js'
import type { LogCut } from './log.js'
import type { LogChainLink, LogChainOptions } from './log-chain.js'

/** A sealed log of a chain, as the chain remembers it while the log is closed. */
export interface SealedLog {
  logId: string
  /** The first LSN it still holds (above its link's when it was trimmed while active). */
  firstLsn: number
  lastLsn: number
  link: LogChainLink
  cut: LogCut
  bytes: number
  segmentCount: number
}

/**
 * Checks the chain `options` describes is contiguous and returns its sealed logs, oldest first.
 * Does not close `options.active` (its caller does, when this throws).
 *
 * @example
 * const sealed = await checkLogChain({ links, active, openSealed }, 'partition orders')
 */
export async function checkLogChain(options: LogChainOptions, name: string): Promise<SealedLog[]> {
  const { links, active } = options
  assert(links.length > 0, 'a chain has at least its active log')
  const activeLink = links[links.length - 1]!
  assert(active.logId === activeLink.logId, 'the active log is the last link')
  const sealed: SealedLog[] = []
  for (const [i, link] of links.slice(0, -1).entries()) {
    const log = await options.openSealed(link)
    try {
      const next = links[i + 1]!
      if (i > 0 && log.firstLsn !== link.firstLsn) throw broken(name, `log ${link.logId} starts at LSN ${log.firstLsn}, not ${link.firstLsn}`)
      if (log.lastLsn !== next.firstLsn - 1) {
        throw broken(name, `log ${link.logId} ends at LSN ${log.lastLsn} but the next log (${next.logId}) starts at ${next.firstLsn}`)
      }
      sealed.push({ logId: link.logId, firstLsn: log.firstLsn, lastLsn: log.lastLsn, link, cut: log.cut(), bytes: log.bytes, segmentCount: log.segmentCount })
    } finally {
      await log.close()
    }
  }
  if (sealed.length > 0 && active.firstLsn !== activeLink.firstLsn) {
    throw broken(name, `the active log ${activeLink.logId} starts at LSN ${active.firstLsn}, not ${activeLink.firstLsn}`)
  }
  if (active.lastLsn < activeLink.firstLsn - 1) {
    throw broken(name, `the active log ${activeLink.logId} ends at LSN ${active.lastLsn}, before its start ${activeLink.firstLsn}`)
  }
  return sealed
}

function broken(name: string, what: string): CorruptionError {
  return new CorruptionError(
    'CORRUPT_LOG',
    `${name}: the chain of logs has a gap (${what}): LSNs would not be dense; restore the partition from a backup or a snapshot (Store.restorePartition)`,
    { context: { chain: name } },
  )
}
