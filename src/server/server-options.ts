/**
 * The server's options and their defaults: what `createServer` accepts, and what it resolves
 * them to once, at creation (server-limits.ts holds the default figures).
 *
 * Invariants:
 * - an empty token is refused (INVALID_CONFIG) before anything is created: it is an unset
 *   variable far more often than a wish to accept any bearer;
 * - every bound has a value once resolved, so no request path looks at a default again;
 * - the request timeout, when not given, leaves time for the largest body at 1 MiB/s.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { CairnError } from '../io/errors.js'
import type { SnapshotManager, SnapshotPolicy } from '../snapshot/index.js'
import { recordBytesMaxDefault } from '../partition/index.js'
import { tokenChecker } from './check-token.js'
import type { ResolvedServerOptions } from './context.js'
import type { ServerIngest } from './handlers/ingest.js'
import {
  bodyBytesMaxDefault,
  headersTimeoutMsDefault,
  inflightBytesMaxDefault,
  maxPartitionsDefault,
  pageBuildBytesMaxDefault,
  pageBytesDefault,
  pageBytesMax,
  readLimitDefault,
  readLimitMax,
  requestItemsMaxDefault,
  requestTimeoutMsFor,
} from './server-limits.js'

export interface ServerOptions {
  /** Bearer token required on every request (metrics included) when set; `''` is refused. */
  token?: string | undefined
  /** Create a partition on its first write (default true); off: 404 PARTITION_NOT_FOUND. */
  autoCreate?: boolean
  /** Partitions the store may reach by auto-create (default 1000); past it 409 PARTITION_LIMIT. */
  maxPartitions?: number
  /** Largest request body accepted (default 16 MiB); larger is 413 BODY_TOO_LARGE. */
  bodyBytesMax?: number
  /** Bytes of request bodies held at once by the server (default 64 MiB); past it 503 SERVER_BUSY. */
  inflightBytesMax?: number
  /** Bytes of read pages being built at once by the server (default 256 MiB); past it 503 SERVER_BUSY. */
  pageBuildBytesMax?: number
  /** Records or ops per request (default 10,000); more is 413 BATCH_TOO_LARGE, before parsing. */
  requestItemsMax?: number
  /** Largest record accepted (default the log's 16 MiB); larger is 413 RECORD_TOO_LARGE. */
  recordBytesMax?: number
  /** Records or entries per read when `limit` is absent (default 1000). */
  readLimitDefault?: number
  /** Largest `limit` accepted (default 10000). */
  readLimitMax?: number
  /** Bytes per page of a read when `maxBytes` is absent (default 4 MiB), and the largest `maxBytes` (64 MiB). */
  pageBytesDefault?: number
  pageBytesMax?: number
  /** Origins allowed to call cross-origin (CORS); `*` allows any. Default: none. */
  corsOrigins?: string[]
  /** Names accepted in `Host` besides the bound address and the machine's names. */
  allowedHosts?: string[]
  /** Time to receive headers (default 10 s), and the whole request (default: that plus the body limit at 1 MiB/s). */
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  /** After this long, `close()` answers requests still waiting for their body 503 and cuts what is left (default 10 s). */
  shutdownMs?: number
  /** Enables POST /v1/backups: each backup is a checkpoint in this backup set (default: off, 404). */
  backupDir?: string | undefined
  /** An ingester running inside the server: GET /v1/ingest/status answers its status; `close()` stops it before the store closes. */
  ingest?: ServerIngest | undefined
  /** Called with each unexpected (5xx) error; default: ignore. */
  onError?: (error: unknown, req: IncomingMessage) => void
  /**
   * A snapshot repository attached to the store (`cairn serve --repo`): POST
   * /v1/partitions/:p/snapshots and the status's `snapshots` use it; the policy (if any) runs
   * beside. The server owns both: `close()` stops the policy and closes the manager before the store.
   */
  snapshots?: { manager: SnapshotManager; policy?: SnapshotPolicy | undefined } | undefined
}

/** The options a server runs with, resolved at its creation. */
export interface ServerSettings {
  /** What the handlers see. */
  resolved: ResolvedServerOptions
  checkToken: ((headers: IncomingHttpHeaders) => void) | undefined
  corsOrigins: string[]
  inflightBytesMax: number
  pageBuildBytesMax: number
  maxPartitions: number
  headersTimeoutMs: number
  requestTimeoutMs: number
}

/**
 * @example
 * const { resolved, requestTimeoutMs } = resolveServerOptions({ bodyBytesMax: 1 << 20 })
 */
export function resolveServerOptions(options: ServerOptions): ServerSettings {
  if (options.token === '') {
    throw new CairnError('INVALID_CONFIG', 'the token is empty (an unset variable?): set a non-empty token, or none to serve without auth')
  }
  const resolved: ResolvedServerOptions = {
    bodyBytesMax: options.bodyBytesMax ?? bodyBytesMaxDefault,
    recordBytesMax: options.recordBytesMax ?? recordBytesMaxDefault,
    readLimitDefault: options.readLimitDefault ?? readLimitDefault,
    readLimitMax: options.readLimitMax ?? readLimitMax,
    autoCreate: options.autoCreate ?? true,
    requestItemsMax: options.requestItemsMax ?? requestItemsMaxDefault,
    pageBytesDefault: options.pageBytesDefault ?? pageBytesDefault,
    pageBytesMax: options.pageBytesMax ?? pageBytesMax,
    backupDir: options.backupDir,
  }
  const headersTimeoutMs = options.headersTimeoutMs ?? headersTimeoutMsDefault
  return {
    resolved,
    checkToken: options.token !== undefined ? tokenChecker(options.token) : undefined,
    corsOrigins: options.corsOrigins ?? [],
    inflightBytesMax: options.inflightBytesMax ?? inflightBytesMaxDefault,
    pageBuildBytesMax: options.pageBuildBytesMax ?? pageBuildBytesMaxDefault,
    maxPartitions: options.maxPartitions ?? maxPartitionsDefault,
    headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? requestTimeoutMsFor(resolved.bodyBytesMax, headersTimeoutMs),
  }
}
