/**
 * `store.info()` (and so `cairn info` and `GET /v1/status`) shows each partition's first LSN and
 * trim holds, whether the partition is open or was never opened since the store opened.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

test("info shows every partition's first LSN and trim holds, opened or not", async () => {
  const fs = new MemoryFileSystem()
  const store = await Store.open('/data', { fs, segmentBytesMax: 4096 })
  const p = await store.createPartition('p')
  for (let i = 1; i <= 200; i++) await p.put(`k${i % 7}`, `v${i} ${'x'.repeat(60)}`)
  await p.flush()
  const firstLsn = await p.trim(150)
  assert.ok(firstLsn > 1)
  const release = p.holdTrim(160, 'backup test')
  const open = (await store.info()).partitions.find((x) => x.id === 'p')!
  assert.equal(open.firstLsn, firstLsn)
  assert.deepEqual(open.trimHolds, [{ who: 'backup test', fromLsn: 160 }])
  release()
  await store.rollPartitionLog('p')
  await store.close()
  const again = await Store.open('/data', { fs })
  const unopened = (await again.info()).partitions.find((x) => x.id === 'p')!
  assert.equal(unopened.open, false)
  assert.equal(unopened.firstLsn, firstLsn, 'the first LSN of a partition never opened, from its oldest segment name')
  assert.deepEqual(unopened.trimHolds, [], 'a closed partition holds nothing')
  await again.close()
})
