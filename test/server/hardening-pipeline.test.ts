/**
 * Pipelining against a real `cairn serve`: once the server has decided to close a socket, no
 * request parsed after that decision runs (a client that never got its answer would retry and
 * duplicate data), and a request whose handler is running is answered by that handler, never
 * by a raw early error for garbage that followed it (a failure code must not stand for a
 * committed write).
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { Store } from '../../src/partition/store.js'
import { type Served, startServe } from '../helpers/serve-process.js'

/** How long a test waits for the server to close a socket before giving up on it (a guard, not an assertion). */
const exchangeMsMax = 5000

/** Writes `text` on a fresh socket and returns what came back once the server closed it (or the guard fired). */
function pipeline(port: number, text: string): Promise<{ out: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    let out = ''
    let closedByServer = true
    const guard = setTimeout(() => {
      closedByServer = false
      socket.destroy()
    }, exchangeMsMax)
    socket.on('data', (c) => {
      out += c
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(guard)
      resolve({ out, closedByServer })
    })
  })
}

const request = (method: string, path: string, host: string, contentType: string | undefined, body = '', extra = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${contentType !== undefined ? `Content-Type: ${contentType}\r\n` : ''}${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
const append = (partition: string, payload: string): string =>
  request('POST', `/v1/partitions/${partition}/records`, '127.0.0.1', 'application/json', JSON.stringify({ records: [{ payload }] }))
const statusLines = (out: string): string[] => out.match(/HTTP\/1\.1 \d+/g) ?? []

describe('serve: pipelined requests after a closing answer or before garbage', () => {
  let s: Served
  before(async () => {
    s = await startServe()
  })
  after(async () => {
    assert.equal(await s.stop(), 0, s.stderr())
  })

  test('a request pipelined after a connection: close answer does not run', async () => {
    const cases: Array<[string, string, string]> = [
      ['forbidden host', request('GET', '/v1/status', 'evil.example', undefined), '403'],
      ['forbidden origin', request('POST', '/v1/partitions/x/records', '127.0.0.1', 'application/json', '{}', 'Origin: http://evil.example\r\n'), '403'],
      ['media type', request('POST', '/v1/partitions/x/records', '127.0.0.1', 'text/plain', 'hello'), '415'],
      ['no route', request('POST', '/v1/nothing', '127.0.0.1', 'application/json', 'hello'), '404'],
      ['too many items', request('POST', '/v1/partitions/x/records', '127.0.0.1', 'application/json', `{"records":[${'1,'.repeat(20000)}1]}`), '413'],
    ]
    for (const [i, [what, first, status]] of cases.entries()) {
      const partition = `ghost${i}`
      const { out, closedByServer } = await pipeline(s.port, first + append(partition, what))
      assert.ok(closedByServer, `${what}: the server keeps the socket open: ${out}`)
      assert.deepEqual(statusLines(out), [`HTTP/1.1 ${status}`], `${what}: ${out}`)
    }
  })

  test('garbage pipelined after a valid append: the append is answered 200, then the socket closes', async () => {
    const { out, closedByServer } = await pipeline(s.port, `${append('committed', 'kept')}GARBAGE GARBAGE\r\n\r\n`)
    assert.ok(closedByServer, out)
    assert.deepEqual(statusLines(out), ['HTTP/1.1 200'], out)
  })

  test('garbage alone still gets the JSON 400', async () => {
    const { out } = await pipeline(s.port, 'GARBAGE GARBAGE\r\n\r\n')
    assert.deepEqual(statusLines(out), ['HTTP/1.1 400'], out)
    assert.match(out, /"INVALID_REQUEST"/)
  })

  // Last: a graceful stop waits for every append in progress, so the store then shows exactly
  // what ran (an unanswered pipelined append would otherwise race a read).
  test('after a graceful stop the store holds only the answered append', async () => {
    s.child.kill('SIGTERM')
    assert.equal(await s.exited, 0, s.stderr())
    const store = await Store.open(s.data)
    try {
      assert.deepEqual(store.partitions(), ['committed'], 'a pipelined append ran without an answer')
      const records = []
      for await (const entry of (await store.partition('committed')).read()) records.push(entry)
      assert.equal(records.length, 1)
    } finally {
      await store.close()
    }
  })
})
