/**
 * `cairn serve`: the HTTP server on a store. SIGTERM/SIGINT shut it down gracefully (stop
 * accepting, close idle connections, finish in-flight requests and appends within
 * --shutdown-ms, close the store) and exit 0; a second signal exits at once with 1. With
 * --ingest-postgres an ingester runs inside it (under `superviseIngest`: restarted after a dropped
 * connection), started once the store is open and stopped cleanly (what it acknowledged to
 * Postgres durable) before the store closes.
 */
import { resolve } from 'node:path'
import { type Command, InvalidArgumentError } from 'commander'
import { CairnError } from '../../io/errors.js'
import { assertPartitionId, memoryBytesMaxDefault, memoryBytesMaxLimit, memoryBytesMin, openPartitionsMaxDefault, openPartitionsMaxLimit, Store } from '../../partition/index.js'
// The server's defaults, from a module with no imports: registering the command does not load the server.
import {
  bodyBytesMaxDefault,
  inflightBytesMaxDefault,
  maxPartitionsDefault,
  pageBuildBytesMaxDefault,
  requestItemsMaxDefault,
  shutdownMsDefault,
} from '../../server/server-limits.js'
import { type DataOptions, intParser, withData } from '../options.js'
import type { IngestSupervisor } from '../../ingest/index.js'
import { postgresUrlParser, tablesParser } from './ingest-options.js'

interface ServeOptions extends DataOptions {
  port: number
  host: string
  token?: string
  autoCreate: boolean
  bodyBytesMax: number
  inflightBytesMax: number
  pageBuildBytesMax: number
  requestItemsMax: number
  maxPartitions: number
  corsOrigin: string[]
  allowedHost: string[]
  shutdownMs: number
  memoryBytesMax: number
  openPartitionsMax: number
  backupDir?: string
  repo?: string
  allowUnsafePointerUpdates?: boolean
  snapshotRecords?: number
  snapshotBytes?: number
  snapshotIntervalMs?: number
  snapshotCheckMs?: number
  trimDelayMs?: number
  ingestPostgres?: string
  ingestTables?: string[]
  ingestPartition?: string
}

const collect = (value: string, previous: string[]): string[] => [...previous, value]

/** A token must not be empty: `--token "$UNSET"` would otherwise serve without auth. */
function tokenParser(text: string): string {
  if (text === '') throw new InvalidArgumentError('the token is empty (an unset variable?): give a non-empty token, or leave --token out')
  return text
}

/** An origin as browsers send it: scheme://host[:port], no path; or `*`. */
function originParser(text: string, previous: string[] = []): string[] {
  if (text !== '*' && !/^https?:\/\/[^/\s]+$/.test(text)) {
    throw new InvalidArgumentError(`cors-origin must look like http://host:port (got ${JSON.stringify(text)})`)
  }
  return [...previous, text]
}

export function registerServe(program: Command): void {
  withData(program.command('serve').description('serve the store over HTTP (creates the store if missing)'))
    .option('-p, --port <port>', 'TCP port (0: any free port)', intParser('port', 0, 65535), 7070)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--token <token>', 'bearer token required on every request (default: $CAIRN_TOKEN)', tokenParser)
    .option('--no-auto-create', 'answer 404 to writes to a missing partition instead of creating it')
    .option('--max-partitions <n>', 'partitions the store may reach by auto-create (409 PARTITION_LIMIT past it)', intParser('max-partitions', 1), maxPartitionsDefault)
    .option('--body-bytes-max <bytes>', 'largest request body', intParser('body-bytes-max', 1), bodyBytesMaxDefault)
    .option('--inflight-bytes-max <bytes>', 'request body bytes held at once by the server (503 SERVER_BUSY past it)', intParser('inflight-bytes-max', 1), inflightBytesMaxDefault)
    .option('--page-build-bytes-max <bytes>', 'bytes of read pages the server builds at once (503 SERVER_BUSY past it)', intParser('page-build-bytes-max', 1), pageBuildBytesMaxDefault)
    .option('--request-items-max <n>', 'records or ops in one request (413 BATCH_TOO_LARGE past it)', intParser('request-items-max', 1), requestItemsMaxDefault)
    .option('--cors-origin <origin>', 'an origin allowed to call cross-origin (repeatable; * for any)', originParser, [])
    .option('--allowed-host <name>', 'a name accepted in the Host header besides the bound address (repeatable)', collect, [])
    .option(
      '--memory-bytes-max <bytes>',
      "the store's memory for state: half bounds all partitions' memtables, half is their shared block cache",
      intParser('memory-bytes-max', memoryBytesMin, memoryBytesMaxLimit),
      memoryBytesMaxDefault,
    )
    .option('--open-partitions-max <n>', 'partitions open at once (idle ones are closed, least recently used first)', intParser('open-partitions-max', 1, openPartitionsMaxLimit), openPartitionsMaxDefault)
    .option('--backup-dir <root>', 'enable POST /v1/backups: each backup is a checkpoint in the backup set at ROOT')
    .option('--shutdown-ms <ms>', 'on SIGTERM, how long in-flight requests get before they are answered 503 and cut', intParser('shutdown-ms', 0), shutdownMsDefault)
    .option('--repo <url>', 'a snapshot repository (file:///dir, s3://bucket/prefix): policy snapshots, log trimming, bootstrap of missing partitions')
    .option('--allow-unsafe-pointer-updates', "with --repo: publish even if the repository ignores conditional writes (unsafe with concurrent writers)")
    .option('--snapshot-records <n>', 'with --repo: snapshot a partition once this many records were appended since its last (default 100000)', intParser('snapshot-records', 1))
    .option('--snapshot-bytes <bytes>', 'with --repo: ... or once this many log bytes were (default 64 MiB)', intParser('snapshot-bytes', 1))
    .option('--snapshot-interval-ms <ms>', 'with --repo: ... or once its last snapshot is this old and something is new', intParser('snapshot-interval-ms', 1))
    .option('--snapshot-check-ms <ms>', 'with --repo: how often the policy looks at the partitions (default 10000)', intParser('snapshot-check-ms', 1))
    .option('--trim-delay-ms <ms>', 'with --repo: trim the log to an archived LSN only once it has been archived this long (default 0)', intParser('trim-delay-ms', 0))
    .option('--ingest-postgres <url>', 'also replicate this Postgres into a partition while serving (see cairn ingest postgres)', postgresUrlParser)
    .option('--ingest-tables <a,b>', 'with --ingest-postgres: the tables to replicate (default: all)', tablesParser)
    .option('--ingest-partition <id>', 'with --ingest-postgres: the partition the rows go to (default: pg)')
    .action(async (options: ServeOptions) => {
      checkIngestOptions(options)
      const envToken = process.env.CAIRN_TOKEN
      if (options.token === undefined && envToken === '') {
        throw new CairnError('INVALID_ARGUMENT', 'CAIRN_TOKEN is set but empty: give it a value, or unset it to serve without auth')
      }
      const token = options.token ?? envToken
      // Loaded here, not at the top: other commands should not pay for zod, prom-client and pino.
      const [{ pino }, { createServer, isLoopbackBind }] = await Promise.all([import('pino'), import('../../server/index.js')])
      // Logs go to stderr: stdout stays free for whatever wraps the server.
      const logger = pino({ name: 'cairn' }, pino.destination({ fd: 2, sync: true }))
      const store = await Store.open(options.data, { create: true, memoryBytesMax: options.memoryBytesMax, openPartitionsMax: options.openPartitionsMax })
      let snapshots: Awaited<ReturnType<typeof attachRepository>>
      let ingest: Awaited<ReturnType<typeof startIngest>>
      try {
        snapshots = await attachRepository(store, options, logger)
        ingest = await startIngest(
          store,
          options,
          (e) => logger.error({ err: e }, 'ingest failed: it stopped; the server goes on serving (GET /v1/ingest/status shows the error)'),
          (e, delayMs) => logger.warn({ err: e, delayMs }, `ingest: reconnecting in ${(delayMs / 1000).toFixed(1)} s`),
        )
      } catch (e) {
        await store.close()
        throw e
      }
      const server = createServer(store, {
        snapshots,
        ...(ingest !== undefined && { ingest }),
        token,
        autoCreate: options.autoCreate,
        maxPartitions: options.maxPartitions,
        bodyBytesMax: options.bodyBytesMax,
        inflightBytesMax: options.inflightBytesMax,
        pageBuildBytesMax: options.pageBuildBytesMax,
        requestItemsMax: options.requestItemsMax,
        corsOrigins: options.corsOrigin,
        allowedHosts: options.allowedHost,
        shutdownMs: options.shutdownMs,
        backupDir: options.backupDir === undefined ? undefined : resolve(options.backupDir),
        onError: (e, req) => logger.error({ err: e, method: req.method, url: req.url }, 'request failed'),
      })
      let address: { url: string }
      try {
        address = await server.listen(options.port, options.host)
      } catch (e) {
        await ingest?.stop().catch(() => undefined)
        await snapshots?.policy.stop()
        await snapshots?.manager.close()
        await store.close()
        throw e
      }
      snapshots?.policy.start()
      if (token === undefined && !isLoopbackBind(options.host)) {
        logger.warn(
          { host: options.host },
          'WARNING: listening on a non-loopback address WITHOUT a token: anyone who can reach this address can read, write and delete every partition; set --token or CAIRN_TOKEN',
        )
      }
      logger.info({ url: address.url, data: store.dir, storeId: store.storeId, repository: snapshots?.manager.repo.url, auth: token !== undefined, maxPartitions: options.maxPartitions, memoryBytesMax: options.memoryBytesMax, openPartitionsMax: options.openPartitionsMax }, 'listening')
      await new Promise<void>((resolve, reject) => {
        let stopping = false
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) {
            logger.warn({ signal }, 'second signal: exiting without finishing')
            process.exit(1)
          }
          stopping = true
          logger.info({ signal }, 'shutting down')
          server.close().then(resolve, reject)
        }
        process.on('SIGTERM', onSignal)
        process.on('SIGINT', onSignal)
      })
      logger.info('stopped')
    })
}

/**
 * With `--repo`: the repository attached to the store (bootstrap of missing partitions, trim-gap
 * repair) and the policy (snapshots by thresholds, then trimming), its events logged. The object
 * store module is loaded only then; opening it makes no request.
 */
async function attachRepository(store: Store, options: ServeOptions, logger: import('pino').Logger) {
  if (options.repo === undefined) {
    const repoOnly = ['allowUnsafePointerUpdates', 'snapshotRecords', 'snapshotBytes', 'snapshotIntervalMs', 'snapshotCheckMs', 'trimDelayMs'] as const
    const given = repoOnly.find((name) => options[name] !== undefined)
    if (given !== undefined) throw new CairnError('INVALID_ARGUMENT', `--${given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --repo URL`)
    return undefined
  }
  const [{ openObjectStore }, { SnapshotManager, SnapshotPolicy, SnapshotRepository }] = await Promise.all([import('../../objectstore/index.js'), import('../../snapshot/index.js')])
  const objects = await openObjectStore(options.repo)
  const repo = await SnapshotRepository.open(objects, { allowUnsafePointerUpdates: options.allowUnsafePointerUpdates === true })
  const manager = SnapshotManager.attach(store, repo, {
    closeObjectStore: true,
    onEvent: (event) => {
      if (event.kind === 'error') logger.warn({ partition: event.partition, what: event.what, err: event.error }, `${event.what} failed`)
      else if (event.kind === 'snapshot') logger.info({ partition: event.partition, lsn: event.result.lsn, snapshotId: event.result.snapshotId, published: event.result.published, bytesUploaded: event.result.bytesUploaded }, 'snapshot')
      else if (event.kind === 'trim') logger.info({ partition: event.partition, firstLsn: event.result.firstLsn }, 'log trimmed')
      else logger.warn({ partition: event.partition, why: event.why, lsn: event.result.lsn, snapshotId: event.result.snapshotId, fellBackFrom: event.result.fellBackFrom }, 'partition restored from the repository')
    },
  })
  const policy = new SnapshotPolicy(manager, {
    ...(options.snapshotRecords !== undefined && { recordsMin: options.snapshotRecords }),
    ...(options.snapshotBytes !== undefined && { bytesMin: options.snapshotBytes }),
    ...(options.snapshotIntervalMs !== undefined && { intervalMsMax: options.snapshotIntervalMs }),
    ...(options.snapshotCheckMs !== undefined && { checkMs: options.snapshotCheckMs }),
    ...(options.trimDelayMs !== undefined && { trimDelayMs: options.trimDelayMs }),
  })
  return { manager, policy }
}

/** `--ingest-tables` and `--ingest-partition` mean nothing without `--ingest-postgres`. */
function checkIngestOptions(options: ServeOptions): void {
  if (options.ingestPostgres !== undefined) {
    if (options.ingestPartition !== undefined) assertPartitionId(options.ingestPartition)
    return
  }
  const stray = [options.ingestTables !== undefined && '--ingest-tables', options.ingestPartition !== undefined && '--ingest-partition'].filter(Boolean)
  if (stray.length > 0) throw new CairnError('INVALID_ARGUMENT', `${stray.join(' and ')} ${stray.length === 1 ? 'needs' : 'need'} --ingest-postgres URL`)
}

/** The ingester of `--ingest-postgres`, started on the open store (undefined without it); a first start that keeps failing throws. */
async function startIngest(
  store: Store,
  options: ServeOptions,
  onFailure: (e: unknown) => void,
  onRestart: (e: unknown, delayMs: number) => void,
): Promise<IngestSupervisor | undefined> {
  if (options.ingestPostgres === undefined) return undefined
  const { startAttemptsMaxCli, superviseIngest } = await import('../../ingest/index.js')
  const ingester = superviseIngest({
    url: options.ingestPostgres,
    store,
    partition: options.ingestPartition ?? 'pg',
    ...(options.ingestTables !== undefined && { tables: options.ingestTables }),
    startAttemptsMax: startAttemptsMaxCli,
    onRestart: ({ error, delayMs }) => onRestart(error, delayMs),
  })
  await ingester.started
  ingester.done.catch(onFailure)
  return ingester
}
