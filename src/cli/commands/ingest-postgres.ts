/**
 * `cairn ingest postgres`: replicates Postgres tables into a partition until SIGTERM/SIGINT.
 * Stopping is clean: the ingester stops (everything it acknowledged to Postgres is durable in
 * the store), then the store closes, and the command exits 0; a second signal exits at once with
 * 1 (the next start resumes from what was durable). The ingester runs under `superviseIngest`: a
 * transient failure (the connection to Postgres dropped) restarts it after a backoff ("reconnecting
 * in N s"); a permanent error (a lost slot, a source gone wrong, a store error) stops it, closes
 * the store and exits 1 with the error's code, as does a first start that keeps failing.
 */
import type { Command } from 'commander'
import { assertPartitionId, Store } from '../../partition/index.js'
import { type DataOptions, intParser, withData } from '../options.js'
import type { IngestSupervisor } from '../../ingest/index.js'
import { postgresUrlParser, publicationParser, slotParser, tablesParser } from './ingest-options.js'
import { progressIntervalMsDefault, progressView } from './ingest-progress.js'

/** Bounds of the tuning options (the ingester has its own defaults). */
export const chunkRowsMax = 1_000_000
export const parallelismMax = 64

interface IngestPostgresOptions extends DataOptions {
  url: string
  tables?: string[]
  partition: string
  chunkRows?: number
  parallelism?: number
  slot?: string
  publication?: string
  progressMs: number
}

export function registerIngestPostgres(ingest: Command): void {
  withData(ingest.command('postgres').description('replicate Postgres tables into a partition until SIGTERM/SIGINT (creates the store if missing)'))
    .requiredOption('--url <url>', 'the source: postgres://user:password@host:port/database (the user needs REPLICATION)', postgresUrlParser)
    .option('--tables <a,b>', 'tables to replicate (default: every table of the publication, or all tables)', tablesParser)
    .option('--partition <id>', 'the partition the rows go to', 'pg')
    .option('--chunk-rows <n>', 'rows per chunk of the initial copy', intParser('chunk-rows', 1, chunkRowsMax))
    .option('--parallelism <n>', 'tables copied at once', intParser('parallelism', 1, parallelismMax))
    .option('--slot <name>', 'the replication slot (default: derived from the partition)', slotParser)
    .option('--publication <name>', 'the publication (default: derived from the partition)', publicationParser)
    .option('--progress-ms <ms>', 'without a terminal: at most one progress report per this many ms', intParser('progress-ms', 0), progressIntervalMsDefault)
    .action(async (options: IngestPostgresOptions) => {
      assertPartitionId(options.partition)
      // Loaded here: other commands do not pay for the Postgres client.
      const { startAttemptsMaxCli, superviseIngest } = await import('../../ingest/index.js')
      const view = progressView(process.stderr, { intervalMs: options.progressMs })
      const store = await Store.open(options.data, { create: true })
      const ingester: IngestSupervisor = superviseIngest({
        url: options.url,
        store,
        partition: options.partition,
        ...(options.tables !== undefined && { tables: options.tables }),
        ...(options.slot !== undefined && { slotName: options.slot }),
        ...(options.publication !== undefined && { publicationName: options.publication }),
        ...(options.chunkRows !== undefined && { chunkRows: options.chunkRows }),
        ...(options.parallelism !== undefined && { copyParallelism: options.parallelism }),
        startAttemptsMax: startAttemptsMaxCli,
        onProgress: (s) => view.update(s),
        onRestart: ({ error, delayMs }) => process.stderr.write(`reconnecting in ${(delayMs / 1000).toFixed(1)} s (${error.code}: ${error.message})\n`),
      })
      const ended = await new Promise<{ signal: NodeJS.Signals } | { error: unknown } | { finished: true }>((resolve) => {
        let stopping = false
        const onSignal = (signal: NodeJS.Signals): void => {
          if (stopping) {
            process.stderr.write(`second ${signal}: exiting without a clean stop (the next start resumes from what is durable)\n`)
            process.exit(1)
          }
          stopping = true
          resolve({ signal })
        }
        process.on('SIGTERM', onSignal)
        process.on('SIGINT', onSignal)
        ingester.done.then(
          () => resolve({ finished: true }),
          (error: unknown) => resolve({ error }),
        )
      })
      if ('signal' in ended) process.stderr.write(`${ended.signal}: stopping (finishing what was received, then closing the store)\n`)
      try {
        // After a fatal error the error that ended it is the one to report, not a second one from stopping.
        if ('error' in ended) await ingester.stop().catch(() => undefined)
        else await ingester.stop()
        // A first start that failed has no progress to show: only its error is reported.
        if (await ingester.started.then(() => true, () => false)) view.update(ingester.status())
      } finally {
        view.stop()
        await store.close()
      }
      if ('error' in ended) throw ended.error
      process.stderr.write('stopped\n')
    })
}
