/** A real server on 127.0.0.1 (port 0) over a store in a temp dir, plus raw HTTP for odd paths. */
import { request } from 'node:http'
import { Store } from '../../src/partition/store.js'
import { type CairnServer, createServer, type ServerOptions } from '../../src/server/create-server.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export interface Running {
  tmp: TempDir
  store: Store
  server: CairnServer
  url: string
  port: number
  stop(): Promise<void>
}

export async function startServer(options: ServerOptions = {}): Promise<Running> {
  const tmp = await makeTempDir('cairn-server-')
  const store = await Store.open(tmp.path)
  const server = createServer(store, options)
  const { url, port } = await server.listen(0, '127.0.0.1')
  return {
    tmp,
    store,
    server,
    url,
    port,
    async stop() {
      await server.close()
      await tmp.cleanup()
    },
  }
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Sends `path` exactly as given (fetch would normalize `..` away before it reaches the server). */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    // The server may answer (413) and close before it has read the whole body: not an error here.
    req.on('error', reject)
    if (body !== undefined) req.end(body)
    else req.end()
  })
}

// biome-ignore lint/suspicious/noExplicitAny: tests check response fields one by one
export async function json(res: Response): Promise<any> {
  return JSON.parse(await res.text())
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}
