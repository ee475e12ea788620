/**
 * The one key rule at the server's edge: a key is 1 to 65,536 bytes. An empty key (path query,
 * batch op, deleteRange bound) is 400 KEY_EMPTY; a 64 KiB key is stored; one byte more is 413
 * KEY_TOO_LARGE. A refused request writes nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { json, post, type Running, startServer } from '../helpers/server-helpers.js'

const keyBytesMax = 64 * 1024

describe('server: the key rule', () => {
  let s: Running
  before(async () => {
    s = await startServer({ bodyBytesMax: 1024 * 1024 })
  })
  after(async () => {
    await s.stop()
  })

  test('an empty key is 400 KEY_EMPTY wherever it is given, and nothing is written', async () => {
    const octet = { 'content-type': 'application/octet-stream' }
    const answers = [
      await fetch(`${s.url}/v1/partitions/e/kv?key=`, { method: 'PUT', headers: octet, body: 'v' }),
      await fetch(`${s.url}/v1/partitions/e/kv?keyBase64=`, { method: 'PUT', headers: octet, body: 'v' }),
      await fetch(`${s.url}/v1/partitions/e/kv?key=`),
      await fetch(`${s.url}/v1/partitions/e/kv?key=`, { method: 'DELETE' }),
      await post(`${s.url}/v1/partitions/e/batch`, { ops: [{ type: 'put', key: '', value: 'v' }] }),
      await post(`${s.url}/v1/partitions/e/batch`, { ops: [{ type: 'delete', keyBase64: '' }] }),
      await post(`${s.url}/v1/partitions/e/batch`, { ops: [{ type: 'deleteRange', start: '', end: 'z' }] }),
    ]
    for (const [i, res] of answers.entries()) {
      const body = await json(res)
      assert.equal(res.status, 400, `answer ${i}: ${JSON.stringify(body)}`)
      assert.equal(body.error.code, 'KEY_EMPTY', `answer ${i}`)
    }
    assert.deepEqual(s.store.partitions(), [])
  })

  test('a key of 64 KiB is stored; one byte more is 413 KEY_TOO_LARGE', async () => {
    const key = 'k'.repeat(keyBytesMax)
    const ok = await post(`${s.url}/v1/partitions/big/batch`, { ops: [{ type: 'put', key, value: 'v' }] })
    assert.equal(ok.status, 200, JSON.stringify(await json(ok.clone())))
    const stored = await (await s.store.partition('big')).get(Buffer.from(key))
    assert.equal(Buffer.from(stored ?? []).toString(), 'v')
    const over = await post(`${s.url}/v1/partitions/big/batch`, { ops: [{ type: 'put', key: `${key}k`, value: 'v' }] })
    assert.equal(over.status, 413)
    assert.equal((await json(over)).error.code, 'KEY_TOO_LARGE')
    const lastLsn = (await s.store.partition('big')).lastLsn
    assert.equal(lastLsn, 1, 'the refused batch wrote nothing')
  })
})
