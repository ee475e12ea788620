/**
 * What an ingester reports (`IngestStatus`), and its durable bookkeeping: the catalog meta
 * (`meta.ingest` of the partition, a throttled checkpoint) and the progress carried in the
 * payload of every write of rows (`IngestProgress`), which is what makes "rows and the progress
 * they stand for" one atomic write.
 *
 * Invariants:
 * - `foldProgress` is the only way progress advances, in partition LSN order; folding the same
 *   payload twice changes nothing (every field is absolute, not a delta);
 * - `consistentLsn` and `sourceLsn` never move back.
 */
import { formatLsn, parseLsn } from './lsn.js'

/** `restarting`: a supervised ingester failed transiently and waits to start again (`superviseIngest`). */
export type IngestPhase = 'starting' | 'copying' | 'streaming' | 'restarting' | 'stopped' | 'failed'
export type TableCopyState = 'queued' | 'copying' | 'done'

export interface TableStatus {
  name: string
  state: TableCopyState
  rowsCopied: number
  rowsEstimate?: number
  bytesCopied: number
  etaMs?: number
}

export interface IngestStatus {
  partition: string
  slot: string
  publication: string
  phase: IngestPhase
  tables: TableStatus[]
  /** The partition LSN up to which state equals Postgres at `consistentSourceLsn`. */
  consistentLsn?: number
  consistentSourceLsn?: string
  /** The end LSN of the last source commit durably applied (pg LSN text). */
  sourceLsn?: string
  /** The LSN confirmed to Postgres (the slot's confirmed_flush_lsn as far as cairn knows). */
  confirmedLsn?: string
  lagBytes?: number
  lagMs?: number
  retainedWalBytes?: number
  error?: { code: string; message: string }
  /** Under `superviseIngest`: how many times the ingester was started again after a transient failure. */
  restarts?: number
  /** Under `superviseIngest`, phase `restarting`: when the next start is tried (ms since the epoch). */
  nextAttemptAtMs?: number
  /** When this status was taken (ms since the epoch). */
  updatedAtMs?: number
}

/** The copy progress of one table, as recorded with its rows. */
export interface TableProgress {
  state: TableCopyState
  rowsCopied: number
  bytesCopied: number
  chunksCopied: number
  /** The primary key (text of each column) of the last row of the last chunk written. */
  lastKey?: string[]
  /** The source LSN (text) at which the copy finished (its last chunk's high watermark commit). */
  doneAtLsn?: string
}

/** The payload of a write of the ingester: the progress this write makes durable. */
export interface IngestProgress {
  ingest: 1
  /** End LSN of the last source commit this write completes; absent mid-transaction. */
  src?: string
  /** Progress of the tables this write advanced; null: the table left the publication (its rows are deleted in the same write). */
  tables?: Record<string, TableProgress | null>
}

/** `meta.ingest` of the partition in the catalog. */
export interface IngestMeta {
  version: 1
  slot: string
  publication: string
  /** Partition LSN up to which the log's progress payloads are folded in here. */
  atLsn: number
  sourceLsn?: string
  tables: Record<string, TableProgress>
  consistentLsn?: number
  consistentSourceLsn?: string
  status?: IngestStatus
}

export function newMeta(slot: string, publication: string): IngestMeta {
  return { version: 1, slot, publication, atLsn: 0, tables: {} }
}

/** Folds the progress of the write at partition LSN `lsn` into `meta` (in place). */
export function foldProgress(meta: IngestMeta, lsn: number, progress: IngestProgress): void {
  if (lsn <= meta.atLsn) return
  meta.atLsn = lsn
  for (const [name, t] of Object.entries(progress.tables ?? {})) {
    if (t === null) delete meta.tables[name]
    else meta.tables[name] = t
  }
  if (progress.src === undefined) return
  if (meta.sourceLsn === undefined || parseLsn(progress.src) > parseLsn(meta.sourceLsn)) meta.sourceLsn = progress.src
  const tables = Object.values(meta.tables)
  if (tables.length === 0 || tables.some((t) => t.state !== 'done')) return
  const copyHigh = tables.reduce((m, t) => (t.doneAtLsn !== undefined && parseLsn(t.doneAtLsn) > m ? parseLsn(t.doneAtLsn) : m), 0n)
  if (parseLsn(meta.sourceLsn) < copyHigh) return
  if (meta.consistentLsn === undefined || lsn > meta.consistentLsn) {
    meta.consistentLsn = lsn
    meta.consistentSourceLsn = meta.sourceLsn
  }
}

export function decodeProgress(payload: Uint8Array): IngestProgress | undefined {
  if (payload.length === 0 || payload[0] !== 0x7b) return undefined
  try {
    const parsed = JSON.parse(new TextDecoder().decode(payload)) as IngestProgress
    return parsed?.ingest === 1 ? parsed : undefined
  } catch {
    return undefined
  }
}

/**
 * The status an ingester last recorded in the partition's catalog meta, for readers without the
 * running ingester (`cairn ingest status` through a `StoreReader`).
 *
 * @example
 * const status = readIngestStatus(store.catalog.partition('pg')?.meta.ingest)
 */
export function readIngestStatus(meta: unknown): IngestStatus | undefined {
  if (typeof meta !== 'object' || meta === null) return undefined
  const m = meta as Partial<IngestMeta>
  if (m.version !== 1 || typeof m.status !== 'object' || m.status === null) return undefined
  return m.status
}

export { formatLsn }
