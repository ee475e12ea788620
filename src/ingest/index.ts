/** Ingest: replicating external sources (Postgres) into partitions. See docs/ingest.md. */
export { type DropIngestOptions, dropIngest } from './postgres/drop-ingest.js'
export {
  type IngestMeta,
  type IngestPhase,
  type IngestStatus,
  readIngestStatus,
  type TableCopyState,
  type TableStatus,
} from './postgres/ingest-status.js'
export { encodeKey, tableRange } from './postgres/key-encoding.js'
export { readStoredIngestStatus, type StoredIngestStatusOptions } from './postgres/stored-ingest-status.js'
export { defaultSourceName, type IngestHooks, type PostgresIngestOptions, PostgresIngester } from './postgres/postgres-ingester.js'
export { columnJson, rowJson, sessionOptions } from './postgres/row-encoding.js'
export { chunkRowsDefault, copyParallelismDefault } from './postgres/snapshotter.js'
export {
  IngestSupervisor,
  isTransientIngestError,
  restartDelayMs,
  restartDelayMsMax,
  restartDelayMsMin,
  restartResetMsMin,
  startAttemptsMaxCli,
  type SuperviseIngestOptions,
  type SupervisedIngester,
  type SupervisorClock,
  superviseIngest,
} from './ingest-supervisor.js'
