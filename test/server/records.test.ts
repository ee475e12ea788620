import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Store } from '../../src/partition/store.js'
import { json, post, type Running, startServer } from '../helpers/server-helpers.js'

describe('server: records', () => {
  let s: Running
  before(async () => {
    s = await startServer()
  })
  after(async () => {
    await s.stop()
  })

  test('append then read round trip, UTF-8 and binary payloads', async () => {
    const res = await post(`${s.url}/v1/partitions/orders/records`, {
      records: [{ payload: 'first' }, { payload: 'zweite ✓' }, { payloadBase64: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') }],
    })
    assert.equal(res.status, 200)
    assert.deepEqual(await json(res), { lsn: 3 })
    const more = await post(`${s.url}/v1/partitions/orders/records`, { records: [{ payload: 'fourth' }] })
    assert.deepEqual(await json(more), { lsn: 4 })

    const read = await fetch(`${s.url}/v1/partitions/orders/records`)
    assert.equal(read.status, 200)
    assert.deepEqual(await json(read), {
      records: [
        { lsn: 1, payload: 'first' },
        { lsn: 2, payload: 'zweite ✓' },
        { lsn: 3, payloadBase64: '/wD+' },
        { lsn: 4, payload: 'fourth' },
      ],
    })
    const page = await json(await fetch(`${s.url}/v1/partitions/orders/records?from=2&limit=2`))
    assert.deepEqual(
      page.records.map((r: { lsn: number }) => r.lsn),
      [2, 3],
    )
  })

  test('status lists partitions with their info', async () => {
    const body = await json(await fetch(`${s.url}/v1/status`))
    assert.equal(body.ok, true)
    assert.equal(body.storeId, s.store.storeId)
    const orders = body.partitions.find((p: { id: string }) => p.id === 'orders')
    assert.equal(orders.lastLsn, 4)
  })

  test('bad query parameters are 400 INVALID_REQUEST', async () => {
    for (const q of ['from=abc', 'limit=0', 'limit=1000000', 'from=-1']) {
      const res = await fetch(`${s.url}/v1/partitions/orders/records?${q}`)
      assert.equal(res.status, 400, q)
      assert.equal((await json(res)).error.code, 'INVALID_REQUEST', q)
    }
  })

  test('metrics: Prometheus text with requests, appends, partitions', async () => {
    const res = await fetch(`${s.url}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
    const text = await res.text()
    assert.match(text, /# TYPE cairn_http_requests_total counter/)
    assert.match(text, /cairn_http_requests_total\{method="POST",route="\/v1\/partitions\/:p\/records",status="200"\} 2/)
    assert.match(text, /cairn_http_request_duration_seconds_bucket\{le="0\.5",method="GET"/)
    assert.match(text, /cairn_appended_records_total 4/)
    assert.match(text, /cairn_appended_bytes_total 24/)
    assert.match(text, /cairn_partitions 1/)
    const lastLsn = /cairn_partition_last_lsn\{partition="([a-z0-9_-]+)"\} (\d+)/.exec(text)
    assert.ok(lastLsn, text)
    assert.equal(Number(lastLsn[2]), (await s.store.partition(lastLsn[1]!)).lastLsn)
    assert.match(text, /cairn_partition_applied_lsn\{partition="[a-z0-9_-]+"\} \d+/)
    assert.match(text, /cairn_partition_table_bytes\{partition="[a-z0-9_-]+"\} \d+/)
  })
  test('a payload that JSON would escape six-fold is read back as base64: a page stays within 4/3 of the bytes', async () => {
    const raw = Buffer.alloc(64 * 1024, 0x01)
    const res = await post(`${s.url}/v1/partitions/escapes/records`, { records: [{ payload: raw.toString('latin1') }, { payload: 'a\nb' }] })
    assert.equal(res.status, 200)
    const read = await fetch(`${s.url}/v1/partitions/escapes/records?maxBytes=1`)
    const text = await read.text()
    assert.ok(text.length <= (raw.length * 4) / 3 + 200, `a page of ${text.length} bytes for a record of ${raw.length}`)
    const { records } = JSON.parse(text) as { records: Array<{ payloadBase64?: string }> }
    assert.ok(Buffer.from(records[0]!.payloadBase64 ?? '', 'base64').equals(raw))
    // Text with a few escapes stays text.
    const second = await json(await fetch(`${s.url}/v1/partitions/escapes/records?from=2`))
    assert.deepEqual(second, { records: [{ lsn: 2, payload: 'a\nb' }] })
  })
})

describe('server: read pages being built are bounded server-wide', () => {
  let s: Running
  before(async () => {
    s = await startServer({ pageBuildBytesMax: 100_000 })
  })
  after(async () => {
    await s.stop()
  })

  test('a page that would take the server past pageBuildBytesMax is 503 SERVER_BUSY; a smaller one passes, and the budget is released', async () => {
    const payload = 'p'.repeat(40_000)
    assert.equal((await post(`${s.url}/v1/partitions/pages/records`, { records: [{ payload }, { payload }, { payload }] })).status, 200)
    const big = await fetch(`${s.url}/v1/partitions/pages/records?maxBytes=1000000`)
    assert.equal(big.status, 503, await big.clone().text())
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'SERVER_BUSY')
    for (let i = 0; i < 3; i++) {
      const small = await fetch(`${s.url}/v1/partitions/pages/records?maxBytes=50000`)
      assert.equal(small.status, 200, `read ${i}`)
      assert.equal(((await small.json()) as { records: unknown[] }).records.length, 1)
    }
  })
})

describe('server: auto-create', () => {
  test('a write creates the partition by default', async () => {
    const s = await startServer()
    try {
      const res = await post(`${s.url}/v1/partitions/fresh/records`, { records: [{ payload: 'x' }] })
      assert.equal(res.status, 200)
      assert.deepEqual(s.store.partitions(), ['fresh'])
    } finally {
      await s.stop()
    }
  })

  test('with autoCreate off a write to a missing partition is 404 and creates nothing', async () => {
    const s = await startServer({ autoCreate: false })
    try {
      const res = await post(`${s.url}/v1/partitions/fresh/records`, { records: [{ payload: 'x' }] })
      assert.equal(res.status, 404)
      assert.equal((await json(res)).error.code, 'PARTITION_NOT_FOUND')
      assert.deepEqual(s.store.partitions(), [])
      await s.store.createPartition('fresh')
      const ok = await post(`${s.url}/v1/partitions/fresh/records`, { records: [{ payload: 'x' }] })
      assert.deepEqual(await json(ok), { lsn: 1 })
    } finally {
      await s.stop()
    }
  })
})

describe('server: graceful shutdown', () => {
  test('in-flight appends complete, then the store closes; all are on disk after reopen', async () => {
    const s = await startServer()
    const { request } = await import('node:http')
    const n = 8
    const bodies = Array.from({ length: n }, (_, i) => JSON.stringify({ records: [{ payload: `r${i}` }] }))
    const finishers: Array<() => void> = []
    const answers = bodies.map(
      (body, i) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: s.port,
              method: 'POST',
              path: '/v1/partitions/g/records',
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            },
            (res) => {
              let text = ''
              res.on('data', (c) => {
                text += c
              })
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
            },
          )
          req.on('error', reject)
          // Half the body now, the rest after close() has begun: the request is truly in flight.
          req.write(body.slice(0, 5))
          finishers[i] = () => req.end(body.slice(5))
        }),
    )
    while (s.server.inFlight < n) await new Promise((r) => setTimeout(r, 5))
    const closed = s.server.close()
    await new Promise((r) => setTimeout(r, 50))
    for (const f of finishers) f()
    const results = await Promise.all(answers)
    await closed
    const lsns = results.map((r) => {
      assert.equal(r.status, 200, r.text)
      return JSON.parse(r.text).lsn as number
    })
    assert.deepEqual(
      [...lsns].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
    )
    // close() released the store: it reopens in this process, with every record.
    const store = await Store.open(s.tmp.path, { create: false })
    try {
      const p = await store.partition('g')
      const payloads: string[] = []
      for await (const e of p.read()) payloads.push(Buffer.from(e.payload).toString())
      assert.deepEqual(payloads.sort(), bodies.map((_, i) => `r${i}`).sort())
    } finally {
      await store.close()
      await s.tmp.cleanup()
    }
  })
})
