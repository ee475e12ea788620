/**
 * The in-flight body budget against a real `cairn serve`: bytes are reserved as they arrive, so
 * sockets that declare big bodies and send nothing hold nothing, and other clients still write.
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { type Served, startServe } from '../helpers/serve-process.js'

const mib = 1024 * 1024

/** Opens a socket, sends headers declaring `bytes` with Expect: 100-continue, resolves once the server said 100 (it is then reading the body). */
function declareBody(port: number, bytes: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        `POST /v1/partitions/idle/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${bytes}\r\n\r\n`,
      ),
    )
    let out = ''
    socket.on('data', (c) => {
      out += c
      if (out.startsWith('HTTP/1.1 100')) resolve(socket)
      else if (out.includes('\r\n\r\n')) reject(new Error(`expected 100 Continue: ${out}`))
    })
    socket.on('error', reject)
  })
}

describe('serve: declared but unsent bodies do not hold the in-flight budget', () => {
  let s: Served
  before(async () => {
    s = await startServe(['--inflight-bytes-max', String(2 * mib), '--body-bytes-max', String(2 * mib)])
  })
  after(async () => {
    assert.equal(await s.stop(), 0, s.stderr())
  })

  test('two idle sockets each declaring the whole budget: both are read, and a small append still succeeds', async () => {
    const idle = [await declareBody(s.port, 2 * mib), await declareBody(s.port, 2 * mib)]
    try {
      const res = await fetch(`${s.url}/v1/partitions/small/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"records":[{"payload":"small"}]}',
      })
      assert.equal(res.status, 200, await res.text())
    } finally {
      for (const socket of idle) socket.destroy()
    }
  })
})

describe('serve: --page-build-bytes-max bounds the read pages built at once', () => {
  test('a page past the bound is 503 SERVER_BUSY', async () => {
    const s = await startServe(['--page-build-bytes-max', '100000'])
    try {
      const payload = 'p'.repeat(40_000)
      const append = await fetch(`${s.url}/v1/partitions/pages/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ payload }, { payload }, { payload }] }),
      })
      assert.equal(append.status, 200)
      const big = await fetch(`${s.url}/v1/partitions/pages/records?maxBytes=1000000`)
      assert.equal(big.status, 503, await big.clone().text())
      assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'SERVER_BUSY')
    } finally {
      assert.equal(await s.stop(), 0, s.stderr())
    }
  })
})
