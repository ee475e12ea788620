/**
 * What a running ingester reports: its phase, each table's copy progress and ETA, the source
 * positions and the lag.
 *
 * Invariants:
 * - a table's counts are what is durable (the meta), never what a write in the making holds;
 * - a row estimate is never below the rows already copied, and an ETA is given only once a
 *   table's copy has made progress in this run (a rate from this run's own clock);
 * - lag is measured against the source's WAL head (polled, or the stream's last WAL end) and is
 *   0 when cairn holds everything up to it.
 */
import type { IngestMeta, IngestStatus, TableProgress, TableStatus } from './ingest-status.js'
import { formatLsn, type PgLsn, parseLsn } from './lsn.js'
import type { SourceTable } from './source.js'

/** When this run started copying a table, and the rows it had then (for the rate and the ETA). */
export interface CopyClock {
  startedAtMs: number
  rowsAtStart: number
}

/** What the ingester knows at the moment of a status. */
export interface IngesterState {
  partition: string
  slot: string
  publication: string
  phase: IngestStatus['phase']
  /** The durable progress (undefined before the ingester recovered it). */
  meta: IngestMeta | undefined
  tables: Iterable<[string, SourceTable]>
  clocks: Map<string, CopyClock>
  /** What was last confirmed to Postgres (undefined before the stream started). */
  confirmedLsn: PgLsn | undefined
  /** The source's WAL head as last polled, else the stream's last reported WAL end. */
  head: PgLsn
  lastCommitTimeMs: number | undefined
  retainedWalBytes: number | undefined
  error: { code: string; message: string } | undefined
}

/**
 * @example
 * const status = ingesterStatus({ partition: 'pg', slot, publication, phase: 'copying', meta, tables, clocks, ... }, Date.now())
 */
export function ingesterStatus(s: IngesterState, now: number): IngestStatus {
  const meta = s.meta
  const tables: TableStatus[] = []
  for (const [name, table] of s.tables) {
    // What is durable, not what a write in the making holds.
    const p: TableProgress | undefined = meta?.tables[name]
    const state = p?.state ?? 'queued'
    const rowsCopied = p?.rowsCopied ?? 0
    const t: TableStatus = { name, state: state === 'queued' && s.clocks.has(name) ? 'copying' : state, rowsCopied, bytesCopied: p?.bytesCopied ?? 0 }
    if (table.rowsEstimate !== undefined) t.rowsEstimate = Math.max(table.rowsEstimate, rowsCopied)
    const clock = s.clocks.get(name)
    if (t.state === 'copying' && clock !== undefined && t.rowsEstimate !== undefined && rowsCopied > clock.rowsAtStart) {
      const rate = (rowsCopied - clock.rowsAtStart) / Math.max(1, now - clock.startedAtMs)
      t.etaMs = Math.round((t.rowsEstimate - rowsCopied) / rate)
    }
    tables.push(t)
  }
  const status: IngestStatus = { partition: s.partition, slot: s.slot, publication: s.publication, phase: s.phase, tables, updatedAtMs: now }
  if (meta?.consistentLsn !== undefined) {
    status.consistentLsn = meta.consistentLsn
    if (meta.consistentSourceLsn !== undefined) status.consistentSourceLsn = meta.consistentSourceLsn
  }
  if (meta?.sourceLsn !== undefined) status.sourceLsn = meta.sourceLsn
  if (s.confirmedLsn !== undefined) status.confirmedLsn = formatLsn(s.confirmedLsn)
  if (meta?.sourceLsn !== undefined) {
    const source = parseLsn(meta.sourceLsn)
    status.lagBytes = s.head > source ? Number(s.head - source) : 0
    status.lagMs = status.lagBytes === 0 || s.lastCommitTimeMs === undefined ? 0 : Math.max(0, now - s.lastCommitTimeMs)
  }
  if (s.retainedWalBytes !== undefined) status.retainedWalBytes = s.retainedWalBytes
  if (s.error !== undefined) status.error = s.error
  return status
}
