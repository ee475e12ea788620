/**
 * The repository through the AWS SDK against s3rver, which accepts If-None-Match/If-Match and
 * ignores them: pointer updates fail with CONDITIONAL_WRITES_UNSUPPORTED (nothing written), and
 * work with allowUnsafePointerUpdates; a round trip reads back every entry.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { type ObjectStore, openObjectStore } from '../../src/objectstore/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'
import { type S3rverServer, startS3rver } from '../helpers/s3-servers.js'
import { collect, hex, keysUnder, makeEntries, sourceOf } from './snapshot-helpers.js'

let server: S3rverServer
let store: ObjectStore
before(async () => {
  server = await startS3rver()
  store = await openObjectStore(server.url)
})
after(async () => {
  await store.close()
  await server.stop()
})

test('s3rver ignores conditional writes: refused unless allowed, then a round trip works', async () => {
  const entries = makeEntries(3000, { valueBytes: 150 })
  const safe = await SnapshotRepository.open(store)
  await assert.rejects(safe.create('p', sourceOf(entries, 5), { writer: { storeId: 's' } }), (e: unknown) => e instanceof CairnError && e.code === 'CONDITIONAL_WRITES_UNSUPPORTED')
  assert.deepEqual(await keysUnder(store, 'partitions/'), [])
  assert.deepEqual(await keysUnder(store, 'chunks/'), [])
  const unsafe = await SnapshotRepository.open(store, { allowUnsafePointerUpdates: true })
  const r = await unsafe.create('p', sourceOf(entries, 5), { writer: { storeId: 's' } })
  assert.equal(r.published, true)
  const again = await unsafe.create('p', sourceOf(makeEntries(3000, { valueBytes: 150, tag: 'x' }), 6), { writer: { storeId: 's' } })
  assert.equal(again.published, true)
  assert.deepEqual((await unsafe.list('p')).map((s) => s.lsn), [6, 5])
  assert.deepEqual(hex(await collect((await unsafe.open('p', { snapshotId: r.snapshotId })).entries())), hex(entries))
  assert.deepEqual((await unsafe.verify('p')).problems, [])
})
