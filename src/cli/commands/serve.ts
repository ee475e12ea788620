/**
 * `cairn serve`: the HTTP server on a store. SIGTERM/SIGINT shut it down gracefully (stop
 * accepting, finish in-flight requests and appends, close the store) and exit 0; a second
 * signal exits at once with 1.
 */
import type { Command } from 'commander'
import { Store } from '../../partition/store.js'
import { bodyBytesMaxDefault } from '../../server/server-limits.js'
import { type DataOptions, intParser, withData } from '../options.js'

interface ServeOptions extends DataOptions {
  port: number
  host: string
  token?: string
  autoCreate: boolean
  bodyBytesMax: number
}

export function registerServe(program: Command): void {
  withData(program.command('serve').description('serve the store over HTTP (creates the store if missing)'))
    .option('-p, --port <port>', 'TCP port (0: any free port)', intParser('port', 0, 65535), 7070)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--token <token>', 'bearer token required on every request (default: $CAIRN_TOKEN)')
    .option('--no-auto-create', 'answer 404 to writes to a missing partition instead of creating it')
    .option('--body-bytes-max <bytes>', 'largest request body', intParser('body-bytes-max', 1), bodyBytesMaxDefault)
    .action(async (options: ServeOptions) => {
      // Loaded here, not at the top: other commands should not pay for zod, prom-client and pino.
      const [{ pino }, { createServer }] = await Promise.all([import('pino'), import('../../server/create-server.js')])
      // Logs go to stderr: stdout stays free for whatever wraps the server.
      const logger = pino({ name: 'cairn' }, pino.destination({ fd: 2, sync: true }))
      const store = await Store.open(options.data, { create: true })
      const server = createServer(store, {
        token: options.token ?? process.env.CAIRN_TOKEN,
        autoCreate: options.autoCreate,
        bodyBytesMax: options.bodyBytesMax,
        onError: (e, req) => logger.error({ err: e, method: req.method, url: req.url }, 'request failed'),
      })
      let address: { url: string }
      try {
        address = await server.listen(options.port, options.host)
      } catch (e) {
        await store.close()
        throw e
      }
      logger.info({ url: address.url, data: store.dir, storeId: store.storeId, auth: options.token !== undefined || Boolean(process.env.CAIRN_TOKEN) }, 'listening')
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
