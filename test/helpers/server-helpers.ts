/** A real server on 127.0.0.1 (port 0) over a store in a temp dir, plus raw HTTP for odd paths. */
import { request } from 'node:http'
import { connect } from 'node:net'
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

/**
 * POST on a fresh socket, headers and body in one write (the least client work there is, so the
 * figure is the server's); resolves at the answer's end, the socket still sending if it must.
 */
export function postOnce(port: number, path: string, body: Uint8Array): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat([Buffer.from(head), body])))
    let text = ''
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const length = /content-length: (\d+)/i.exec(text)
      if (end !== -1 && length && text.length >= end + 4 + Number(length[1])) {
        resolve({ status: Number(text.slice(9, 12)), body: text.slice(end + 4, end + 4 + Number(length[1])) })
        socket.destroy()
      }
    })
    socket.on('error', reject)
  })
}
