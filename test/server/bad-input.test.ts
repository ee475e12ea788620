/**
 * Every refused request is a 4xx JSON error with a code, and nothing reaches the disk: no
 * partition is created and no LSN moves.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Store } from '../../src/partition/store.js'
import { errorMessageCharsMax } from '../../src/server/server-limits.js'
import { json, post, type RawResponse, type Running, rawRequest, startServer } from '../helpers/server-helpers.js'

function assertError(res: RawResponse, status: number, code: string, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.body}`)
  assert.match(String(res.headers['content-type']), /application\/json/, what)
  assert.equal(JSON.parse(res.body).error.code, code, what)
  assert.equal(typeof JSON.parse(res.body).error.message, 'string', what)
}

describe('server: bad input writes nothing', () => {
  let s: Running
  before(async () => {
    s = await startServer({ bodyBytesMax: 4096, recordBytesMax: 1000 })
    // One existing partition whose lastLsn must not move.
    const p = await s.store.createPartition('keep')
    await p.append(['one'])
  })
  after(async () => {
    await s.stop()
  })

  function assertUnchanged(what: string): void {
    assert.deepEqual(s.store.partitions(), ['keep'], `${what}: no partition created`)
  }
  async function assertKeepAt(lsn: number, what: string): Promise<void> {
    assert.equal((await s.store.partition('keep')).lastLsn, lsn, `${what}: lastLsn unchanged`)
  }

  const cases: Array<{ what: string; body: string; status: number; code: string }> = [
    { what: 'malformed JSON', body: '{"records": [', status: 400, code: 'INVALID_JSON' },
    { what: 'not JSON at all', body: 'hello', status: 400, code: 'INVALID_JSON' },
    { what: 'empty body', body: '', status: 400, code: 'INVALID_JSON' },
    { what: 'records missing', body: '{}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'records not an array', body: '{"records":"x"}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'records empty', body: '{"records":[]}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'payload not a string', body: '{"records":[{"payload":1}]}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'both payload kinds', body: '{"records":[{"payload":"a","payloadBase64":"YQ=="}]}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'bad base64', body: '{"records":[{"payloadBase64":"!!!"}]}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'unknown field', body: '{"records":[{"payload":"a"}],"x":1}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'one valid, one invalid record', body: '{"records":[{"payload":"a"},{"nope":1}]}', status: 400, code: 'INVALID_REQUEST' },
    { what: 'JSON array body', body: '[1,2]', status: 400, code: 'INVALID_REQUEST' },
    { what: 'record over the record limit', body: JSON.stringify({ records: [{ payload: 'x'.repeat(1001) }] }), status: 413, code: 'RECORD_TOO_LARGE' },
    { what: 'body over the body limit', body: JSON.stringify({ records: [{ payload: 'x'.repeat(5000) }] }), status: 413, code: 'BODY_TOO_LARGE' },
  ]
  for (const c of cases) {
    test(`${c.what}: ${c.status} ${c.code}, to a new and to an existing partition`, async () => {
      for (const p of ['newone', 'keep']) {
        const res = await rawRequest(s.port, 'POST', `/v1/partitions/${p}/records`, c.body, { 'content-type': 'application/json' })
        assertError(res, c.status, c.code, `${c.what} -> ${p}`)
      }
      assertUnchanged(c.what)
      await assertKeepAt(1, c.what)
    })
  }

  test('body over the limit sent chunked (no content-length) is cut off: 413', async () => {
    const { request } = await import('node:http')
    const res = await new Promise<RawResponse>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/v1/partitions/newone/records', headers: { 'content-type': 'application/json' } }, (r) => {
        let body = ''
        r.on('data', (c) => {
          body += c
        })
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }))
      })
      req.on('error', reject)
      // Keeps sending well past the limit; the server answers without waiting for the end.
      req.write(`{"records":[{"payload":"${'y'.repeat(3000)}`)
      req.write('y'.repeat(3000))
    })
    assertError(res, 413, 'BODY_TOO_LARGE', 'chunked')
    assertUnchanged('chunked')
  })

  const badIds = ['..', '%2e%2e', '%2E%2E', 'a%2Fb', '..%2F..%2Fetc', 'UPPER', 'a'.repeat(65), '-lead', '_lead', 'sp%20ace', '%ff', '%', 'a.b']
  for (const id of badIds) {
    test(`partition id ${JSON.stringify(id.slice(0, 20))}: 400 INVALID_PARTITION_ID for write and read`, async () => {
      const w = await rawRequest(s.port, 'POST', `/v1/partitions/${id}/records`, '{"records":[{"payload":"x"}]}')
      assertError(w, 400, 'INVALID_PARTITION_ID', `write ${id}`)
      const r = await rawRequest(s.port, 'GET', `/v1/partitions/${id}/records`)
      assertError(r, 400, 'INVALID_PARTITION_ID', `read ${id}`)
      assertUnchanged(id)
    })
  }

  test('paths that escape the route are 404 NOT_FOUND, never a file', async () => {
    for (const path of ['/v1/partitions/../../etc/passwd/records', '/v1/partitions/a/b/records', '/nope', '/v1/partitions//records']) {
      const res = await rawRequest(s.port, 'POST', path, '{"records":[{"payload":"x"}]}')
      assertError(res, 404, 'NOT_FOUND', path)
    }
    assertUnchanged('escape')
  })

  test('read of an unknown partition: 404 PARTITION_NOT_FOUND, not created', async () => {
    const res = await rawRequest(s.port, 'GET', '/v1/partitions/ghost/records')
    assertError(res, 404, 'PARTITION_NOT_FOUND', 'ghost')
    assertUnchanged('ghost')
  })

  test('wrong method: 405 with Allow', async () => {
    const res = await rawRequest(s.port, 'DELETE', '/v1/partitions/keep/records')
    assertError(res, 405, 'METHOD_NOT_ALLOWED', 'delete records')
    assert.match(String(res.headers.allow), /GET/)
    await assertKeepAt(1, '405')
  })

  test('an answer never echoes a flood of unknown keys: its message is cut to errorMessageCharsMax', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => `"u${i}":0`).join(',')
    const res = await rawRequest(s.port, 'POST', '/v1/partitions/keep/records', `{${keys},"records":[{"payload":"x"}]}`, { 'content-type': 'application/json' })
    assertError(res, 400, 'INVALID_REQUEST', 'unknown keys')
    assert.ok(JSON.parse(res.body).error.message.length <= errorMessageCharsMax, `message of ${JSON.parse(res.body).error.message.length} chars`)
    await assertKeepAt(1, 'unknown keys')
  })

  test('the server still works after all that', async () => {
    const res = await post(`${s.url}/v1/partitions/keep/records`, { records: [{ payload: 'two' }] })
    assert.deepEqual(await json(res), { lsn: 2 })
  })
})

describe('server: bearer token', () => {
  let s: Running
  before(async () => {
    s = await startServer({ token: 's3cret' })
  })
  after(async () => {
    await s.stop()
  })

  const auths: Array<[string, Record<string, string>]> = [
    ['missing', {}],
    ['wrong', { authorization: 'Bearer nope' }],
    ['prefix of the token', { authorization: 'Bearer s3cre' }],
    ['not bearer', { authorization: 'Basic czNjcmV0' }],
    ['empty bearer', { authorization: 'Bearer ' }],
  ]
  for (const [what, headers] of auths) {
    test(`${what} token: 401 UNAUTHORIZED on every route, nothing written`, async () => {
      for (const [method, path] of [
        ['POST', '/v1/partitions/p/records'],
        ['GET', '/v1/partitions/p/records'],
        ['GET', '/v1/status'],
        ['GET', '/metrics'],
        ['PUT', '/v1/partitions/p/kv/k'],
        ['GET', '/nope'],
      ] as const) {
        const res = await rawRequest(s.port, method, path, method === 'GET' ? undefined : '{"records":[{"payload":"x"}]}', headers)
        assertError(res, 401, 'UNAUTHORIZED', `${what} ${method} ${path}`)
      }
      assert.deepEqual(s.store.partitions(), [])
    })
  }

  test('the right token works', async () => {
    const res = await post(`${s.url}/v1/partitions/p/records`, { records: [{ payload: 'x' }] }, { authorization: 'Bearer s3cret' })
    assert.deepEqual(await json(res), { lsn: 1 })
    const m = await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer s3cret' } })
    assert.equal(m.status, 200)
  })
})

describe('server: after close', () => {
  test('the store is closed and can be reopened with nothing extra in it', async () => {
    const s = await startServer()
    await rawRequest(s.port, 'POST', '/v1/partitions/..%2Fx/records', '{"records":[{"payload":"x"}]}')
    await s.server.close()
    const store = await Store.open(s.tmp.path, { create: false })
    assert.deepEqual(store.partitions(), [])
    await store.close()
    await s.tmp.cleanup()
  })
})
