/**
 * GET /v1/ingest/status: the status of the ingester running inside this server (`cairn serve
 * --ingest-postgres`), as it is now: per-table copy progress, lag, the consistent LSN, and the
 * error that stopped it if one did. 404 INGEST_NOT_FOUND when the server runs none.
 */
import type { IngestStatus } from '../../ingest/index.js'
import { ApiError } from '../../wire/index.js'
import type { Context, Reply } from '../context.js'

/** What the server needs of an ingester it runs: its status, and a clean stop before the store closes. */
export interface ServerIngest {
  status(): IngestStatus
  /** Everything acknowledged to the source is durable in the store when it resolves. */
  stop(): Promise<void>
}

/**
 * @example
 * router.add('GET', '/v1/ingest/status', ingestStatusHandler(options.ingest))
 */
export function ingestStatusHandler(ingest: ServerIngest | undefined): (ctx: Context) => Promise<Reply> {
  return async () => {
    if (ingest === undefined) throw new ApiError('INGEST_NOT_FOUND', 'no ingester runs in this server: start it with cairn serve --ingest-postgres URL')
    return { json: ingest.status() }
  }
}
