/**
 * What `PostgresIngester.start` takes, and the names it derives from a partition id.
 *
 * Invariants:
 * - a slot or publication name derived from a partition id is a valid Postgres slot name
 *   (`[a-z0-9_]`, at most 63 characters), the same for the same id every time, so a restart
 *   finds the slot and publication its first run made.
 */
import type { Store } from '../../partition/index.js'
import type { IngestStatus } from './ingest-status.js'

export interface PostgresIngestOptions {
  url: string
  store: Store
  /** Partition the rows go to (default `pg`). */
  partition?: string
  /** Tables to ingest (`table` or `schema.table`); default: every table (FOR ALL TABLES). */
  tables?: string[]
  /** Default `cairn_<partition>`. */
  slotName?: string
  /** Default `cairn_<partition>`. */
  publicationName?: string
  /** Rows per chunk of the copy (default 10,000). */
  chunkRows?: number
  /** Tables copied at once (default 2). */
  copyParallelism?: number
  onProgress?: (status: IngestStatus) => void
  /** How long creating the slot may wait on running transactions (default 30 s). */
  slotCreateMsMax?: number
  /**
   * After this long without a write (an idle source, or one busy only outside the publication),
   * a heartbeat message is emitted so the slot's position moves and WAL is not retained
   * (default 10 s; checked every 2 s).
   */
  heartbeatIdleMs?: number
  /** @internal Test seams. */
  hooks?: IngestHooks
}

/** @internal Points where tests act inside the ingester. */
export interface IngestHooks {
  /** Awaited after a chunk's SELECT, before its high watermark: changes made here are inside its window. */
  afterChunkRead?: (table: string, rows: number) => void | Promise<void>
  /** Bytes at which a write is cut (default `batchBytesMaxDefault`). */
  batchBytesMax?: number
}

/**
 * A slot or publication name from a partition id (slot names allow [a-z0-9_] only).
 *
 * @example
 * defaultSourceName('Orders-EU') // 'cairn_orders_eu'
 */
export function defaultSourceName(partition: string): string {
  return `cairn_${partition.toLowerCase().replaceAll(/[^a-z0-9_]/g, '_')}`.slice(0, 63)
}
