/**
 * Limits and shutdown against a real `cairn serve`: SIGTERM is not held by idle or slow
 * clients, auto-create stops at --max-partitions, running out of descriptors is a 503 with a
 * code, held body bytes are bounded, timeouts answer 408, and no answer carries a server path.
 */
import assert from 'node:assert/strict'
import { open } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { Store } from '../../src/partition/store.js'
import { type Served, startServe } from '../helpers/serve-process.js'
import { rawRequest, startServer } from '../helpers/server-helpers.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const jsonHeaders = { 'content-type': 'application/json' }

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket))
    socket.on('error', reject)
  })
}

/** Writes `head` and part of a body, then reads whatever the server answers until it closes. */
function slowBody(port: number, path: string, declared: number, sent: string): { answer: Promise<string>; socket: Promise<Socket> } {
  let out = ''
  const socket = openSocket(port)
  const answer = socket.then(
    (s) =>
      new Promise<string>((resolve) => {
        s.on('data', (c) => {
          out += c
        })
        s.on('close', () => resolve(out))
        s.on('error', () => undefined)
        s.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n${sent}`)
      }),
  )
  return { answer, socket }
}

function bodyOf(http: string): { status: number; json: { error: { code: string } } } {
  return { status: Number(http.slice(9, 12)), json: JSON.parse(http.slice(http.indexOf('\r\n\r\n') + 4)) }
}

describe('serve: shutdown', () => {
  // Untimed: with a shutdown deadline of ten minutes, a server that waited for idle connections
  // would outlive the test's timeout; one that closes them at once exits.
  test('SIGTERM with an idle connection and a kept-alive one open exits without waiting for the shutdown deadline', { timeout: 120_000 }, async () => {
    const s = await startServe(['--shutdown-ms', '600000'])
    const idle = await openSocket(s.port)
    idle.on('error', () => undefined)
    // A kept-alive connection in fetch's pool, idle between requests.
    assert.equal((await fetch(`${s.url}/v1/status`)).status, 200)
    const t0 = performance.now()
    s.child.kill('SIGTERM')
    const code = await s.exited
    console.log(`SIGTERM to exit with idle connections open: ${(performance.now() - t0).toFixed(0)} ms`)
    idle.destroy()
    assert.equal(code, 0, s.stderr())
    await s.stop()
  })

  test('a slow body still arriving at the shutdown deadline is answered 503, and the server exits', async () => {
    const s = await startServe(['--shutdown-ms', '300'])
    const slow = slowBody(s.port, '/v1/partitions/slow/records', 1000, '{"records":[')
    await slow.socket
    await new Promise((r) => setTimeout(r, 100))
    s.child.kill('SIGTERM')
    const answer = await slow.answer
    assert.equal(await s.exited, 0, s.stderr())
    const { status, json } = bodyOf(answer)
    assert.equal(status, 503, answer)
    assert.equal(json.error.code, 'SHUTTING_DOWN')
    await s.stop()
  })
})

describe('serve: limits', () => {
  let s: Served
  const bodies: string[] = []
  /** fetch that keeps every answer's text, to check none of them reveals the data directory. */
  async function call(path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
    const res = await fetch(`${s.url}${path}`, init)
    const text = await res.text()
    bodies.push(text)
    return { status: res.status, text }
  }
  before(async () => {
    s = await startServe(['--max-partitions', '50', '--inflight-bytes-max', String(1024 * 1024)])
  })
  after(async () => {
    assert.equal(await s.stop(), 0, s.stderr())
  })

  test('1,000 writes to new partitions, 20 at a time: exactly 50 are created, the rest are 409 PARTITION_LIMIT', async () => {
    const statuses = new Map<number, number>()
    const codes = new Set<string>()
    for (let i = 0; i < 1000; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          call(`/v1/partitions/auto-${i + j}/records`, { method: 'POST', headers: jsonHeaders, body: '{"records":[{"payload":"x"}]}' }),
        ),
      )
      for (const r of batch) {
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        if (r.status !== 200) codes.add(JSON.parse(r.text).error.code)
      }
    }
    assert.deepEqual(Object.fromEntries(statuses), { 200: 50, 409: 950 })
    assert.deepEqual([...codes], ['PARTITION_LIMIT'])
    const status = JSON.parse((await call('/v1/status')).text) as { partitions: unknown[] }
    assert.equal(status.partitions.length, 50)
    // An existing partition still takes writes at the limit.
    const again = await call('/v1/partitions/auto-0/records', { method: 'POST', headers: jsonHeaders, body: '{"records":[{"payload":"y"}]}' })
    assert.equal(again.status, 200, again.text)
  })

  test('bodies held at once are bounded: past --inflight-bytes-max a request is 503 SERVER_BUSY with Retry-After', async () => {
    // Bytes are reserved as they arrive: the first body sends most of its 800 KiB and stalls.
    const first = slowBody(s.port, '/v1/partitions/auto-1/records', 800 * 1024, `{"records":[{"payload":"${'y'.repeat(700 * 1024)}`)
    await first.socket
    // Until the server has read those bytes the second request may still fit: poll until it does not.
    let second = await rawRequest(s.port, 'POST', '/v1/partitions/auto-1/records', JSON.stringify({ records: [{ payload: 'z'.repeat(400 * 1024) }] }), jsonHeaders)
    for (let i = 0; i < 100 && second.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 20))
      second = await rawRequest(s.port, 'POST', '/v1/partitions/auto-1/records', JSON.stringify({ records: [{ payload: 'z'.repeat(400 * 1024) }] }), jsonHeaders)
    }
    bodies.push(second.body)
    assert.equal(second.status, 503, second.body)
    assert.equal(JSON.parse(second.body).error.code, 'SERVER_BUSY')
    assert.equal(second.headers['retry-after'], '1')
    ;(await first.socket).destroy()
    // Released: the same request now passes.
    for (let i = 0; i < 50; i++) {
      const again = await rawRequest(s.port, 'POST', '/v1/partitions/auto-1/records', JSON.stringify({ records: [{ payload: 'z'.repeat(400 * 1024) }] }), jsonHeaders)
      if (again.status === 200) return
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.fail('the budget was never released')
  })

  test('no answer carries the data directory', async () => {
    const probes: Array<[string, RequestInit]> = [
      ['/v1/partitions/ghost/records', {}],
      ['/v1/partitions/auto-0/records?from=999', {}],
      ['/v1/partitions/..%2F..%2Fetc/records', {}],
      ['/v1/partitions/auto-0/kv/nokey', {}],
      ['/v1/partitions/auto-0/scan?limit=0', {}],
      ['/nope', {}],
      ['/v1/partitions/auto-0/records', { method: 'POST', headers: jsonHeaders, body: '{"records":[{"payload":1}]}' }],
      ['/v1/partitions/auto-0/records', { method: 'POST', headers: jsonHeaders, body: '{' }],
    ]
    for (const [path, init] of probes) await call(path, init)
    for (const text of bodies) assert.ok(!text.includes(s.data) && !text.includes(s.tmp.path), `answer reveals the data directory: ${text.slice(0, 300)}`)
  })
})

describe('serve: engine errors and descriptor exhaustion', () => {
  test('a corrupt log is a 500 with a code whose message does not name the data directory', async () => {
    const tmp = await makeTempDir('cairn-serve-corrupt-')
    const data = `${tmp.path}/store`
    const store = await Store.open(data)
    const p = await store.ensurePartition('bad')
    await p.append(['one', 'two', 'three'])
    assert.equal(p.lastLsn, 3)
    const logId = store.catalog.partition('bad')!.activeLogId
    await store.close()
    // Flip a byte inside the first record's frame.
    const { readdir } = await import('node:fs/promises')
    const logDir = `${data}/partitions/bad/logs/${logId}`
    const name = (await readdir(logDir)).find((n) => n.endsWith('.log') || n.startsWith('0'))!
    const file = await open(`${logDir}/${name}`, 'r+')
    const at = (await file.stat()).size > 200 ? 70 : 40
    const byte = Buffer.alloc(1)
    await file.read(byte, 0, 1, at)
    byte[0] = byte[0]! ^ 0xff
    await file.write(byte, 0, 1, at)
    await file.close()
    const s = await startServe([], { tmp, data }).catch(async (e) => {
      await tmp.cleanup()
      throw e
    })
    try {
      const res = await fetch(`${s.url}/v1/partitions/bad/records`)
      const text = await res.text()
      assert.ok(res.status >= 400, text)
      assert.ok(!text.includes(tmp.path), `answer reveals the data directory: ${text}`)
      assert.match(JSON.parse(text).error.code, /^[A-Z_]+$/)
    } finally {
      await s.stop()
    }
  })

  test('out of descriptors (EMFILE) is 503 TOO_MANY_OPEN_FILES with Retry-After, never a 500 with a path', async () => {
    // 256, not fewer: the child loads its modules (under tsx, many files at once) within the
    // same limit, and on a loaded machine 96 ran out before the server was up.
    const s = await startServe(['--max-partitions', '100000'], { shell: 'ulimit -n 256' })
    try {
      let refused: { status: number; text: string; retryAfter: string | null } | undefined
      for (let i = 0; i < 800 && refused === undefined; i++) {
        const res = await fetch(`${s.url}/v1/partitions/fd-${i}/records`, { method: 'POST', headers: jsonHeaders, body: '{"records":[{"payload":"x"}]}' })
        const text = await res.text()
        if (res.status !== 200) refused = { status: res.status, text, retryAfter: res.headers.get('retry-after') }
      }
      assert.ok(refused !== undefined, 'descriptors never ran out')
      assert.equal(refused.status, 503, refused.text)
      assert.equal(JSON.parse(refused.text).error.code, 'TOO_MANY_OPEN_FILES')
      assert.equal(refused.retryAfter, '1')
      assert.ok(!refused.text.includes(s.tmp.path), refused.text)
      assert.doesNotMatch(s.stderr(), /"level":50/)
    } finally {
      s.child.kill('SIGKILL')
      await s.stop()
    }
  })
})

describe('server: timeouts', () => {
  test('headers or body too slow: 408 REQUEST_TIMEOUT in the JSON shape', async () => {
    const r = await startServer({ headersTimeoutMs: 300, requestTimeoutMs: 600 })
    try {
      const headers = await new Promise<string>((resolve, reject) => {
        const socket = connect(r.port, '127.0.0.1', () => socket.write('GET /v1/status HTTP/1.1\r\nhost: x\r\n'))
        let out = ''
        socket.on('data', (c) => {
          out += c
        })
        socket.on('close', () => resolve(out))
        socket.on('error', reject)
      })
      assert.match(headers, /^HTTP\/1\.1 408 /)
      assert.equal(bodyOf(headers).json.error.code, 'REQUEST_TIMEOUT')
      const slow = slowBody(r.port, '/v1/partitions/t/records', 1000, '{"records":[')
      const answer = await slow.answer
      assert.match(answer, /^HTTP\/1\.1 408 /)
      assert.equal(bodyOf(answer).json.error.code, 'REQUEST_TIMEOUT')
      assert.deepEqual(r.store.partitions(), [])
      // Counted once, as the 408 it was, not as a client abort.
      let text = ''
      for (let i = 0; i < 50 && !/route="\/v1\/partitions\/:p\/records",status="408"/.test(text); i++) {
        await new Promise((res) => setTimeout(res, 20))
        text = await r.server.metrics.registry.metrics()
      }
      assert.match(text, /cairn_http_requests_total\{method="POST",route="\/v1\/partitions\/:p\/records",status="408"\} 1/)
      assert.doesNotMatch(text, /status="499"/)
    } finally {
      await r.stop()
    }
  })
})
