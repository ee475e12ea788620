/**
 * The status an ingester last recorded, read from a store's catalog without opening the store
 * (no lock taken: it works while another process ingests), for `cairn ingest status`.
 */
import { CairnError } from '../../io/errors.js'
import { type FileSystem, NodeFileSystem } from '../../io/index.js'
import { Catalog } from '../../partition/index.js'
import { type IngestStatus, readIngestStatus } from './ingest-status.js'

export interface StoredIngestStatusOptions {
  /** The store's directory. */
  dir: string
  /** Default `pg`. */
  partition?: string
  fs?: FileSystem
}

/**
 * The recorded status (at most about a second old while the ingester runs), or undefined when
 * the partition has never been ingested into. STORE_NOT_FOUND when `dir` holds no store.
 *
 * @example
 * const status = await readStoredIngestStatus({ dir: './cairn-data' })
 * console.log(status?.phase, status?.consistentLsn)
 */
export async function readStoredIngestStatus(options: StoredIngestStatusOptions): Promise<IngestStatus | undefined> {
  const catalog = await Catalog.load(options.fs ?? new NodeFileSystem(), options.dir)
  if (catalog === undefined) throw new CairnError('STORE_NOT_FOUND', `no cairn store in ${options.dir}: check --data`, { context: { dir: options.dir } })
  return readIngestStatus(catalog.partition(options.partition ?? 'pg')?.meta.ingest)
}
