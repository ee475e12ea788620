/**
 * The HTTP server: node:http, a tiny router, zod-validated bodies, per-server Prometheus metrics.
 * Order of checks per request: token, route, partition id, body; so a refused request never
 * reaches the store.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { recordBytesMaxDefault } from '../log/log.js'
import type { Store } from '../partition/store.js'
import { tokenChecker } from './check-token.js'
import type { Context, Reply, ResolvedServerOptions } from './context.js'
import { ApiError, sendJson, toErrorResponse } from './error-response.js'
import { deleteKey, getKey, getScan, postBatch, putKey } from './handlers/kv.js'
import { getRecords, postRecords } from './handlers/records.js'
import { getStatus } from './handlers/status.js'
import { createMetrics, type ServerMetrics } from './metrics.js'
import { Router } from './router.js'

import { bodyBytesMaxDefault, readLimitDefault, readLimitMax, shutdownMsDefault } from './server-limits.js'

export { bodyBytesMaxDefault, readLimitDefault, readLimitMax, shutdownMsDefault }

export interface ServerOptions {
  /** Bearer token required on every request (metrics included) when set. */
  token?: string | undefined
  /** Create a partition on its first write (default true); off: 404 PARTITION_NOT_FOUND. */
  autoCreate?: boolean
  /** Largest request body accepted (default 16 MiB); larger is 413 BODY_TOO_LARGE. */
  bodyBytesMax?: number
  /** Largest record accepted (default the log's 16 MiB); larger is 413 RECORD_TOO_LARGE. */
  recordBytesMax?: number
  /** Records or entries per read when `limit` is absent (default 1000). */
  readLimitDefault?: number
  /** Largest `limit` accepted (default 10000). */
  readLimitMax?: number
  /** After this long, `close()` cuts connections still open (default 30 s). */
  shutdownMs?: number
  /** Called with each unexpected (5xx) error; default: ignore. */
  onError?: (error: unknown, req: IncomingMessage) => void
}

export interface CairnServer {
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<{ host: string; port: number; url: string }>
  /** Graceful: stop accepting, finish in-flight requests (and their appends), close the store. */
  close(): Promise<void>
  /** Requests being handled right now. */
  readonly inFlight: number
  readonly metrics: ServerMetrics
}

type Handler = (ctx: Context) => Promise<Reply>

/**
 * Serves `store` over HTTP. The server owns the store from here on: `close()` closes it.
 *
 * @example
 * const store = await Store.open('./cairn-data')
 * const server = createServer(store, { token: process.env.CAIRN_TOKEN })
 * const { url } = await server.listen(7070, '127.0.0.1')
 * // curl -X POST $url/v1/partitions/orders/records -d '{"records":[{"payload":"hi"}]}'
 * process.on('SIGTERM', () => void server.close())
 */
export function createServer(store: Store, options: ServerOptions = {}): CairnServer {
  const resolved: ResolvedServerOptions = {
    bodyBytesMax: options.bodyBytesMax ?? bodyBytesMaxDefault,
    recordBytesMax: options.recordBytesMax ?? recordBytesMaxDefault,
    readLimitDefault: options.readLimitDefault ?? readLimitDefault,
    readLimitMax: options.readLimitMax ?? readLimitMax,
    autoCreate: options.autoCreate ?? true,
  }
  const checkToken = options.token !== undefined && options.token !== '' ? tokenChecker(options.token) : undefined
  const metrics = createMetrics(
    () => store.partitions().length,
    async () => (await store.info()).partitions,
  )
  const router = new Router<Handler>()
    .add('GET', '/v1/status', getStatus)
    .add('GET', '/metrics', async () => ({ text: await metrics.registry.metrics(), contentType: metrics.registry.contentType }))
    .add('POST', '/v1/partitions/:p/records', postRecords)
    .add('GET', '/v1/partitions/:p/records', getRecords)
    .add('PUT', '/v1/partitions/:p/kv/:key', putKey)
    .add('GET', '/v1/partitions/:p/kv/:key', getKey)
    .add('DELETE', '/v1/partitions/:p/kv/:key', deleteKey)
    .add('POST', '/v1/partitions/:p/batch', postBatch)
    .add('GET', '/v1/partitions/:p/scan', getScan)

  let inFlight = 0
  let closing: Promise<void> | undefined

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint()
    const method = req.method ?? 'GET'
    let route = 'unmatched'
    let status = 500
    try {
      try {
        if (closing !== undefined) throw new ApiError('SHUTTING_DOWN', 'the server is shutting down: retry against another instance')
        checkToken?.(req.headers)
        const rawUrl = req.url ?? '/'
        const q = rawUrl.indexOf('?')
        const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
        const match = router.match(method, path)
        route = match.route
        const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1))
        const reply = await match.handler({ req, params: match.params, query, store, options: resolved, metrics })
        status = reply.status ?? 200
        const extra: Record<string, string> = closing !== undefined ? { connection: 'close' } : {}
        if ('json' in reply) {
          sendJson(res, status, reply.json, extra)
        } else {
          const body = 'text' in reply ? Buffer.from(reply.text) : reply.bytes
          res.writeHead(status, { 'content-type': reply.contentType, 'content-length': body.length, ...extra })
          res.end(body)
        }
      } catch (e) {
        const answer = toErrorResponse(e)
        status = answer.status
        if (status >= 500 && status !== 503) options.onError?.(e, req)
        if (!res.headersSent) sendJson(res, status, answer.body, answer.headers)
        else res.destroy()
      }
    } finally {
      const labels = { method, route, status: String(status) }
      metrics.requests.inc(labels)
      metrics.requestSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }

  const http = createHttpServer((req, res) => {
    inFlight++
    res.on('close', () => inFlight--)
    // handle() answers every error itself; this catch only guards against a bug in that.
    handle(req, res).catch((e) => {
      options.onError?.(e, req)
      res.destroy()
    })
  })
  // A malformed request line or header: answer 400 instead of letting the socket error escape.
  http.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
    const tooLarge = e.code === 'HPE_HEADER_OVERFLOW'
    const body = JSON.stringify({
      error: tooLarge
        ? { code: 'HEADERS_TOO_LARGE', message: 'request line or headers are too large: send long keys in a batch body' }
        : { code: 'INVALID_REQUEST', message: 'malformed HTTP request' },
    })
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'
    socket.end(
      `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  })

  async function shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => http.close(() => resolve()))
    // close() already drops idle keep-alive connections (Node >= 19); busy ones finish first.
    http.closeIdleConnections()
    const timer = setTimeout(() => http.closeAllConnections(), options.shutdownMs ?? shutdownMsDefault)
    timer.unref()
    await closed
    clearTimeout(timer)
    // Every request has answered, so every append it made is durable; now release the store.
    await store.close()
  }

  return {
    listen(port = 7070, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        http.once('error', reject)
        http.listen(port, host, () => {
          http.off('error', reject)
          const address = http.address() as AddressInfo
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
          resolve({ host: address.address, port: address.port, url: `http://${shown}:${address.port}` })
        })
      })
    },
    close() {
      closing ??= shutdown()
      return closing
    },
    get inFlight() {
      return inFlight
    },
    metrics,
  }
}
