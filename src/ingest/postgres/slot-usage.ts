/**
 * The slot as the ingester polls it: the source's WAL head and the WAL the slot retains, and
 * whether the slot is still there.
 *
 * Invariants:
 * - a slot that is gone or invalidated (`wal_status = lost`) while ingesting is
 *   `SOURCE_SLOT_LOST`: changes were lost, and cairn never re-creates a slot silently;
 * - retained WAL is the WAL head minus the slot's `restart_lsn` (unknown while it has none).
 */
import type pg from 'pg'
import { CairnError } from '../../io/errors.js'
import { type PgLsn, parseLsn } from './lsn.js'

export interface SlotUsage {
  /** `pg_current_wal_lsn()` when polled. */
  currentWal: PgLsn
  /** WAL the slot keeps, in bytes (undefined while it has no `restart_lsn`). */
  retainedWalBytes: number | undefined
}

/**
 * @example
 * const { retainedWalBytes } = await readSlotUsage(control, 'cairn_pg')
 */
export async function readSlotUsage(client: pg.Client, slot: string): Promise<SlotUsage> {
  const r = await client.query<{ current: string; restart_lsn: string | null; wal_status: string | null }>(
    'SELECT pg_current_wal_lsn() AS current, restart_lsn, wal_status FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  )
  const row = r.rows[0]
  if (row === undefined || row.wal_status === 'lost') {
    throw new CairnError('SOURCE_SLOT_LOST', `replication slot ${slot} was ${row === undefined ? 'dropped' : 'invalidated'} while ingesting: changes were lost; drop the partition and ingest again`, {
      context: { slot },
    })
  }
  const currentWal = parseLsn(row.current)
  return { currentWal, retainedWalBytes: row.restart_lsn === null ? undefined : Number(currentWal - parseLsn(row.restart_lsn)) }
}
