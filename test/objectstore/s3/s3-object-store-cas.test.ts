/**
 * The S3 store through the real AWS SDK against the CAS test server, which enforces conditional
 * puts: the whole conformance suite, racing compare-and-swaps included.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { isCairnError } from '../../../src/io/index.js'
import { type ObjectStore, openObjectStore } from '../../../src/objectstore/index.js'
import { runObjectStoreConformance } from '../../helpers/object-store-conformance.js'
import { type CasS3Server, startCasS3Server, useTestS3Credentials } from '../../helpers/s3-servers.js'

useTestS3Credentials()
let server: CasS3Server
let store: ObjectStore
before(async () => {
  server = await startCasS3Server()
  store = await openObjectStore(server.url)
})
after(async () => {
  await store.close()
  await server.stop()
})

runObjectStoreConformance('S3ObjectStore on the CAS test server', async () => ({ store, cleanup: async () => {} }), { racers: 8 })

test('keys live under the URL prefix; another prefix of the same bucket sees none of them', async () => {
  const other = await openObjectStore(server.url.replace('/cairn?', '/elsewhere?'))
  try {
    await store.put('prefix-test/k', new Uint8Array([1]))
    assert.equal(await other.head('prefix-test/k'), undefined)
    assert.deepEqual((await other.list('prefix-test/')).objects, [])
    assert.equal((await store.list('prefix-test/')).objects[0]?.key, 'prefix-test/k')
  } finally {
    await other.close()
  }
})

test('a missing bucket is OBJECT_STORE_ERROR saying to create it, not OBJECT_NOT_FOUND', async () => {
  const missing = await openObjectStore(server.url.replace('s3://bucket/', 's3://no-such-bucket/'))
  try {
    await assert.rejects(missing.get('k'), (e) => isCairnError(e, 'OBJECT_STORE_ERROR') && /create the bucket/.test(e.message))
    await assert.rejects(missing.put('k', new Uint8Array(1)), (e) => isCairnError(e, 'OBJECT_STORE_ERROR'))
  } finally {
    await missing.close()
  }
})

test('a server that ignores Range and sends the whole object: the store still returns only the range', async () => {
  const ignoring = await startCasS3Server({ ignoreRanges: true })
  const s = await openObjectStore(ignoring.url)
  try {
    await s.put('r', new TextEncoder().encode('0123456789'))
    const got = await s.get('r', { range: { start: 2, end: 5 } })
    assert.equal(new TextDecoder().decode(got.bytes), '234')
    assert.equal(got.size, 10)
    assert.equal(new TextDecoder().decode((await s.get('r', { range: { start: 8 } })).bytes), '89')
  } finally {
    await s.close()
    await ignoring.stop()
  }
})
