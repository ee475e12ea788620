/**
 * The HTTP server: node:http, a tiny router, zod-validated bodies, per-server Prometheus metrics.
 * Order of checks per request: Host, Origin, token, transfer coding, route, partition id, media type, body (its
 * size and shape bounded while it streams in); so a refused request never reaches the store.
 *
 * Invariants: every answer the server produces (its own early ones included) is the JSON error
 * shape or a route's reply; no answer reveals the data directory; a body refused before it was
 * read still gets its answer (lingering close); the bytes of bodies held at once, and of read
 * pages built at once, are bounded; shutdown stops accepting, closes idle sockets at once and
 * waits at most `shutdownMs`. Pipelined requests on one socket run one at a time, in order; once
 * the server decided to close a socket, no request parsed on it after that runs (it would write
 * without an answer, and its client's retry would duplicate it); an early error (malformed
 * request, timeout) never answers in place of a request still being handled on its socket.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { hasPartitionFigures, type Store } from '../partition/index.js'
import { ApiError } from '../wire/index.js'
import type { Context, Reply } from './context.js'
import { sendJson, toErrorResponse } from './error-response.js'
import { postBackup } from './handlers/backups.js'
import { deleteKey, getKey, getScan, postBatch, putKey } from './handlers/kv.js'
import { ingestStatusHandler } from './handlers/ingest.js'
import { getRecords, postRecords } from './handlers/records.js'
import { postSnapshot } from './handlers/snapshots.js'
import { getStatus } from './handlers/status.js'
import { InflightBudget } from './inflight-budget.js'
import { lingerClose } from './linger.js'
import { createMetrics, type ServerMetrics } from './metrics.js'
import { parseQuery } from './parse-query.js'
import { PartitionLimiter } from './partition-limiter.js'
import { rawErrorAnswer } from './raw-error-answer.js'
import { checkOrigin, checkTransferEncoding, hostChecker, preflightHeaders } from './request-guard.js'
import { Router } from './router.js'
import { bodyBytesMaxDefault, lingerBytesMax, lingerIdleMsMax, lingerMsMax, readLimitDefault, readLimitMax, shutdownMsDefault } from './server-limits.js'
import { resolveServerOptions, type ServerOptions } from './server-options.js'

export { bodyBytesMaxDefault, readLimitDefault, readLimitMax, type ServerOptions, shutdownMsDefault }

/** After the shutdown deadline answered slow requests 503, how long their sockets get to flush. */
const shutdownFlushMsMax = 1000

export interface CairnServer {
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<{ host: string; port: number; url: string }>
  /** Graceful: stop accepting, finish in-flight requests (and their appends), close the store. */
  close(): Promise<void>
  /** Requests being handled right now. */
  readonly inFlight: number
  /** Bytes of request bodies held right now. */
  readonly inflightBytes: number
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
 * // curl -X POST $url/v1/partitions/orders/records -H 'content-type: application/json' -d '{"records":[{"payload":"hi"}]}'
 * process.on('SIGTERM', () => void server.close())
 */
export function createServer(store: Store, options: ServerOptions = {}): CairnServer {
  const { resolved, checkToken, corsOrigins, headersTimeoutMs, requestTimeoutMs, ...settings } = resolveServerOptions(options)
  const budget = new InflightBudget(settings.inflightBytesMax)
  const pageBudget = new InflightBudget(settings.pageBuildBytesMax, 'read pages')
  const partitions = new PartitionLimiter(store, settings.maxPartitions)
  const shutdownSignal = new AbortController()
  let checkHost: (host: string | undefined) => void = () => {
    throw new ApiError('INTERNAL', 'the server is not listening yet')
  }
  const metrics = createMetrics(
    () => store.partitions().length,
    // Per-partition gauges for partitions with figures (open, or closed since start-up): none is opened to scrape.
    async () => (await store.info()).partitions.filter(hasPartitionFigures),
  )
  const router = new Router<Handler>()
    .add('GET', '/v1/status', getStatus)
    .add('GET', '/metrics', async () => ({ text: await metrics.registry.metrics(), contentType: metrics.registry.contentType }))
    .add('POST', '/v1/partitions/:p/records', postRecords)
    .add('GET', '/v1/partitions/:p/records', getRecords)
    .add('PUT', '/v1/partitions/:p/kv', putKey)
    .add('GET', '/v1/partitions/:p/kv', getKey)
    .add('DELETE', '/v1/partitions/:p/kv', deleteKey)
    .add('PUT', '/v1/partitions/:p/kv/:key', putKey)
    .add('GET', '/v1/partitions/:p/kv/:key', getKey)
    .add('DELETE', '/v1/partitions/:p/kv/:key', deleteKey)
    .add('POST', '/v1/partitions/:p/batch', postBatch)
    .add('GET', '/v1/partitions/:p/scan', getScan)
    .add('POST', '/v1/backups', postBackup)
    .add('POST', '/v1/partitions/:p/snapshots', postSnapshot)
    .add('GET', '/v1/ingest/status', ingestStatusHandler(options.ingest))

  let inFlight = 0
  let closing: Promise<void> | undefined
  /** Open sockets and the requests running on each: Node's closeIdleConnections() misses a socket that never sent a request. */
  const busy = new Map<Socket, number>()
  /** Sockets whose request timed out while its handler waited for the body. */
  const timedOut = new WeakSet<Socket>()
  /**
   * Sockets the server decided to close: a request parsed on one after that decision never runs
   * (its client never gets an answer, so it must not have written anything a retry duplicates).
   */
  const closingSockets = new WeakSet<Socket>()
  /** Sockets to end once their last request is answered (a malformed request followed them). */
  const endWhenIdle = new WeakSet<Socket>()
  /** Per socket, the request being handled: pipelined requests run one at a time, in order, so each sees the close decided by the one before. */
  const running = new WeakMap<Socket, { req: IncomingMessage; done: Promise<void> }>()
  const closeIdle = () => {
    for (const [socket, requests] of busy) if (requests === 0) socket.destroy()
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    reserve: (bytes: number) => void,
    reservePage: (bytes: number) => void,
    sendContinue: () => void,
  ): Promise<void> {
    const started = process.hrtime.bigint()
    const method = req.method ?? 'GET'
    let route = 'unmatched'
    let status = 500
    let cors: Record<string, string> = {}
    try {
      try {
        if (req.headers.host === undefined && req.httpVersion === '1.1') {
          throw new ApiError('INVALID_REQUEST', 'an HTTP/1.1 request must carry a Host header', { connection: 'close' })
        }
        checkHost(req.headers.host)
        if (method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
          route = 'preflight'
          status = 204
          res.writeHead(204, preflightHeaders(req.headers, corsOrigins))
          res.end()
          return
        }
        cors = checkOrigin(req.headers, corsOrigins)
        if (closing !== undefined) throw new ApiError('SHUTTING_DOWN', 'the server is shutting down: retry against another instance')
        checkToken?.(req.headers)
        checkTransferEncoding(req.headers)
        const rawUrl = req.url ?? '/'
        const q = rawUrl.indexOf('?')
        const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
        const match = router.match(method, path)
        route = match.route
        const query = rawUrl.slice(q === -1 ? rawUrl.length : q + 1)
        const reply = await match.handler({
          req,
          params: match.params,
          query: parseQuery(query),
          store,
          options: resolved,
          metrics,
          partitions,
          reserve,
          reservePage,
          sendContinue,
          shutdown: shutdownSignal.signal,
          snapshots: options.snapshots?.manager,
        })
        status = reply.status ?? 200
        const closeAfter = closing !== undefined || closingSockets.has(req.socket)
        if (closeAfter) closingSockets.add(req.socket)
        const extra: Record<string, string> = closeAfter ? { connection: 'close', ...cors } : cors
        if ('json' in reply) {
          sendJson(res, status, reply.json, extra)
        } else {
          const body = 'text' in reply ? Buffer.from(reply.text) : reply.bytes
          res.writeHead(status, { 'content-type': reply.contentType, 'content-length': body.length, ...extra })
          res.end(body)
        }
      } catch (e) {
        const answer = toErrorResponse(e, store.dir)
        status = answer.status
        if (answer.body.error.code === 'CLIENT_ABORTED') {
          // Nobody is left to answer: count it (499, or the 408 the timeout sent), do not log it as a server failure.
          if (timedOut.has(req.socket)) status = 408
          res.destroy()
          return
        }
        // 503 (busy) and 501 (a transfer coding the client chose) are not server failures.
        if (status >= 500 && status !== 503 && status !== 501) options.onError?.(e, req)
        if (res.headersSent) {
          res.destroy()
          return
        }
        const headers = { ...answer.headers, ...cors }
        if (!req.complete) {
          // Refused before the body was read: close after answering, but drain the body first.
          headers.connection = 'close'
          if (closing === undefined || answer.body.error.code !== 'SHUTTING_DOWN') lingerClose(req, { bytesMax: lingerBytesMax, idleMsMax: lingerIdleMsMax, msMax: lingerMsMax })
        }
        if (closingSockets.has(req.socket)) headers.connection = 'close'
        if (headers.connection?.toLowerCase() === 'close') closingSockets.add(req.socket)
        sendJson(res, status, answer.body, headers)
      }
    } finally {
      const labels = { method, route, status: String(status) }
      metrics.requests.inc(labels)
      metrics.requestSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }

  const http = createHttpServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Timeouts are checked this often (Node's default, 30 s, would let them run long).
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
      // The server checks Host itself, so a missing one is answered in the JSON error shape.
      requireHostHeader: false,
    },
    (req, res) => onRequest(req, res, false),
  )
  // `Expect: 100-continue`: `100 Continue` goes out only once the body is going to be read, so a
  // body refused on its headers (413 by Content-Length, 401, 404...) is never sent at all.
  http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, true))

  function onRequest(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const socket = req.socket
    if (closingSockets.has(socket)) {
      // Parsed after the server decided to close this socket: never run, never answered.
      req.resume()
      return
    }
    inFlight++
    busy.set(socket, (busy.get(socket) ?? 0) + 1)
    let reserved = 0
    const reserve = (bytes: number) => {
      budget.reserve(bytes)
      reserved += bytes
    }
    let pageReserved = 0
    const reservePage = (bytes: number) => {
      pageBudget.reserve(bytes)
      pageReserved += bytes
    }
    let finished = false
    const finish = () => {
      if (finished) return
      finished = true
      inFlight--
      if (busy.has(socket)) busy.set(socket, busy.get(socket)! - 1)
      budget.release(reserved)
      reserved = 0
      pageBudget.release(pageReserved)
      pageReserved = 0
      if (endWhenIdle.has(socket) && (busy.get(socket) ?? 0) === 0) socket.end()
    }
    res.on('close', finish)
    let continued = !expectsContinue
    const sendContinue = () => {
      if (continued) return
      continued = true
      res.writeContinue()
    }
    const run = async (): Promise<void> => {
      if (closingSockets.has(socket)) {
        // An earlier request on this socket decided to close it while this one waited its turn.
        req.resume()
        finish()
        return
      }
      // handle() answers every error itself; this catch only guards against a bug in that.
      await handle(req, res, reserve, reservePage, sendContinue).catch((e) => {
        options.onError?.(e, req)
        res.destroy()
      })
    }
    const before = running.get(socket)
    const done = before === undefined ? run() : before.done.then(run)
    const entry = { req, done }
    running.set(socket, entry)
    void done.then(() => {
      if (running.get(socket) === entry) running.delete(socket)
    })
  }
  http.on('connection', (socket: Socket) => {
    if (closing !== undefined) {
      socket.destroy()
      return
    }
    busy.set(socket, 0)
    socket.once('close', () => busy.delete(socket))
  })
  // `Expect` other than 100-continue: Node would answer a bare 417.
  http.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    closingSockets.add(_req.socket)
    sendJson(res, 417, { error: { code: 'EXPECTATION_FAILED', message: 'only Expect: 100-continue is supported' } }, { connection: 'close' })
    metrics.requests.inc({ method: _req.method ?? 'GET', route: 'unmatched', status: '417' })
  })
  // A malformed request, headers too large, or a header/body timeout: answer in the JSON shape
  // instead of letting the error escape, unless a request before it on this socket is still in
  // progress: that one may have committed, so it answers (a failure code must never stand for a
  // committed write), and the socket closes after it.
  http.on('clientError', (e: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
    closingSockets.add(socket)
    const last = running.get(socket)
    if ((busy.get(socket) ?? 0) > 0 && (last === undefined || last.req.complete)) {
      endWhenIdle.add(socket)
      return
    }
    const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage
    if (pending?.headersSent === true) {
      socket.destroy()
      return
    }
    // A request whose handler is still waiting for its body: that handler counts it (as 408).
    const answer = rawErrorAnswer(e, headersTimeoutMs, requestTimeoutMs)
    if (pending !== undefined && e.code === 'ERR_HTTP_REQUEST_TIMEOUT') timedOut.add(socket)
    else metrics.requests.inc({ method: 'unknown', route: 'unmatched', status: String(answer.status) })
    socket.end(answer.text)
  })

  async function shutdown(): Promise<void> {
    // The ingester stops while requests drain: what it acknowledged to its source is durable before the store closes.
    const ingestStopped = options.ingest?.stop().then(
      () => undefined,
      (e: unknown) => ({ failed: e }),
    )
    const closed = new Promise<void>((resolve) => http.close(() => resolve()))
    // Idle keep-alive sockets (and sockets that never sent a request) hold nothing: close them now.
    closeIdle()
    // Answers sent from now on carry `connection: close`; a socket that turns idle is closed too.
    const idleSweep = setInterval(closeIdle, 50)
    let flushTimer: NodeJS.Timeout | undefined
    const deadline = setTimeout(() => {
      // Requests still waiting for their body are answered 503; appends in progress finish.
      shutdownSignal.abort()
      flushTimer = setTimeout(() => http.closeAllConnections(), shutdownFlushMsMax)
    }, options.shutdownMs ?? shutdownMsDefault)
    try {
      await closed
    } finally {
      clearInterval(idleSweep)
      clearTimeout(deadline)
      clearTimeout(flushTimer)
    }
    // No snapshot or trim may run on a closed store: the policy stops, the manager waits for its work.
    await options.snapshots?.policy?.stop()
    await options.snapshots?.manager.close()
    // Every request has answered, so every append it made is durable; now release the store.
    const ingest = await ingestStopped
    await store.close()
    if (ingest !== undefined) throw ingest.failed
  }

  return {
    listen(port = 7070, host = '127.0.0.1') {
      checkHost = hostChecker(host, options.allowedHosts ?? [])
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
    get inflightBytes() {
      return budget.held
    },
    metrics,
  }
}
