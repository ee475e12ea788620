import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { json, post, type Running, rawRequest, startServer } from '../helpers/server-helpers.js'

const octet = { 'content-type': 'application/octet-stream' }

describe('server: kv', () => {
  let s: Running
  before(async () => {
    s = await startServer({ bodyBytesMax: 64 * 1024 })
  })
  after(async () => {
    await s.stop()
  })

  test('PUT, GET, DELETE a key; GET of a missing key is 404 KEY_NOT_FOUND', async () => {
    const put = await fetch(`${s.url}/v1/partitions/users/kv/alice`, { method: 'PUT', headers: octet, body: 'hello' })
    assert.equal(put.status, 200)
    assert.deepEqual(await json(put), { lsn: 1 })
    const get = await fetch(`${s.url}/v1/partitions/users/kv/alice`)
    assert.equal(get.status, 200)
    assert.equal(await get.text(), 'hello')
    const binary = await fetch(`${s.url}/v1/partitions/users/kv/a%2Fb%20c`, { method: 'PUT', headers: octet, body: new Uint8Array([0, 255, 1]) })
    assert.deepEqual(await json(binary), { lsn: 2 })
    assert.deepEqual(new Uint8Array(await (await fetch(`${s.url}/v1/partitions/users/kv/a%2Fb%20c`)).arrayBuffer()), new Uint8Array([0, 255, 1]))
    const del = await fetch(`${s.url}/v1/partitions/users/kv/alice`, { method: 'DELETE' })
    assert.deepEqual(await json(del), { lsn: 3 })
    const gone = await fetch(`${s.url}/v1/partitions/users/kv/alice`)
    assert.equal(gone.status, 404)
    assert.equal((await json(gone)).error.code, 'KEY_NOT_FOUND')
    const noPartition = await fetch(`${s.url}/v1/partitions/nobody/kv/alice`)
    assert.equal(noPartition.status, 404)
    assert.equal((await json(noPartition)).error.code, 'PARTITION_NOT_FOUND')
  })

  test('batch is atomic and answers one LSN; scan with bounds, limit and reverse', async () => {
    const res = await post(`${s.url}/v1/partitions/b/batch`, {
      ops: [
        { type: 'put', key: 'a', value: '1' },
        { type: 'put', key: 'b', value: '2' },
        { type: 'put', key: 'c', value: '3' },
        { type: 'put', keyBase64: Buffer.from('d').toString('base64'), valueBase64: Buffer.from([0xff]).toString('base64') },
        { type: 'put', key: 'e', value: '5' },
        { type: 'delete', key: 'b' },
      ],
    })
    assert.equal(res.status, 200)
    assert.deepEqual(await json(res), { lsn: 1 })
    const all = await json(await fetch(`${s.url}/v1/partitions/b/scan`))
    assert.deepEqual(all.entries, [
      { key: 'a', value: '1' },
      { key: 'c', value: '3' },
      { key: 'd', valueBase64: '/w==' },
      { key: 'e', value: '5' },
    ])
    const range = await json(await fetch(`${s.url}/v1/partitions/b/scan?gte=b&lt=e&limit=2`))
    assert.deepEqual(
      range.entries.map((e: { key: string }) => e.key),
      ['c', 'd'],
    )
    const rev = await json(await fetch(`${s.url}/v1/partitions/b/scan?gt=a&lte=d&reverse=true`))
    assert.deepEqual(
      rev.entries.map((e: { key: string }) => e.key),
      ['d', 'c'],
    )
    const dr = await post(`${s.url}/v1/partitions/b/batch`, { ops: [{ type: 'deleteRange', start: 'a', end: 'd' }] })
    assert.deepEqual(await json(dr), { lsn: 2 })
    const left = await json(await fetch(`${s.url}/v1/partitions/b/scan`))
    assert.deepEqual(
      left.entries.map((e: { key: string }) => e.key),
      ['d', 'e'],
    )
  })

  test('bad kv input: 4xx with a code, nothing written', async () => {
    const before = s.store.partitions()
    const lsnBefore = (await s.store.partition('b')).lastLsn
    const cases: Array<[string, string, string | undefined, number, string]> = [
      ['POST', '/v1/partitions/b/batch', '{"ops":[{"type":"put","key":"k"}]}', 400, 'INVALID_REQUEST'],
      ['POST', '/v1/partitions/b/batch', '{"ops":[{"type":"frob","key":"k"}]}', 400, 'INVALID_REQUEST'],
      ['POST', '/v1/partitions/b/batch', '{"ops":[]}', 400, 'INVALID_REQUEST'],
      ['POST', '/v1/partitions/b/batch', '{"ops":[', 400, 'INVALID_JSON'],
      ['POST', '/v1/partitions/newp/batch', '{"ops":[{"type":"put","key":"k","value":"v"},{"type":"delete"}]}', 400, 'INVALID_REQUEST'],
      ['POST', '/v1/partitions/newp/batch', JSON.stringify({ ops: [{ type: 'put', key: 'k'.repeat(64 * 1024 + 1), value: 'v' }] }), 413, 'BODY_TOO_LARGE'],
      ['PUT', '/v1/partitions/newp/kv/k', 'x'.repeat(64 * 1024 + 1), 413, 'BODY_TOO_LARGE'],
      // Node refuses a request line this long before routing: 431, still a JSON error.
      ['PUT', `/v1/partitions/newp/kv/${'k'.repeat(64 * 1024 + 1)}`, 'v', 431, 'HEADERS_TOO_LARGE'],
      ['PUT', '/v1/partitions/..%2Fx/kv/k', 'v', 400, 'INVALID_PARTITION_ID'],
      ['PUT', '/v1/partitions/newp/kv/%E0%A4%A', 'v', 400, 'INVALID_TEXT'],
      ['GET', '/v1/partitions/b/scan?limit=0', undefined, 400, 'INVALID_REQUEST'],
      ['GET', '/v1/partitions/b/scan?reverse=maybe', undefined, 400, 'INVALID_REQUEST'],
    ]
    for (const [method, path, body, status, code] of cases) {
      const res = await rawRequest(s.port, method, path, body, { 'content-type': method === 'PUT' ? 'application/octet-stream' : 'application/json' })
      assert.equal(res.status, status, `${method} ${path.slice(0, 60)}: ${res.body.slice(0, 200)}`)
      assert.equal(JSON.parse(res.body).error.code, code, `${method} ${path.slice(0, 60)}`)
    }
    assert.deepEqual(s.store.partitions(), before)
    assert.equal((await s.store.partition('b')).lastLsn, lsnBefore)
  })
})

describe('server: kv with a larger body limit', () => {
  test('a value or key over its limit is 413 VALUE_TOO_LARGE / KEY_TOO_LARGE, nothing written', async () => {
    const s = await startServer({ bodyBytesMax: 20 * 1024 * 1024 })
    try {
      const res = await fetch(`${s.url}/v1/partitions/v/kv/k`, { method: 'PUT', headers: octet, body: new Uint8Array(16 * 1024 * 1024 + 1) })
      assert.equal(res.status, 413)
      assert.equal((await json(res)).error.code, 'VALUE_TOO_LARGE')
      const key = await post(`${s.url}/v1/partitions/v/batch`, { ops: [{ type: 'put', key: 'k'.repeat(64 * 1024 + 1), value: 'v' }] })
      assert.equal(key.status, 413)
      assert.equal((await json(key)).error.code, 'KEY_TOO_LARGE')
      assert.deepEqual(s.store.partitions(), [])
    } finally {
      await s.stop()
    }
  })
})
