/**
 * Partition ids that are also members of Object.prototype (`constructor` matches the id pattern)
 * are partitions like any other: the catalog looks ids up as its own entries only.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Store } from '../../src/index.js'
import { MemoryFileSystem } from '../../src/testing/index.js'

test('a partition named constructor is created, written, listed, restored and reopened like any other', async () => {
  const fs = new MemoryFileSystem({ seed: 1 })
  const store = await Store.open('/d', { fs, create: true })
  assert.equal(store.hasPartition('constructor'), false)
  await assert.rejects(store.partition('constructor'), { code: 'PARTITION_NOT_FOUND' })
  const p = await store.ensurePartition('constructor')
  await p.put('k', 'v')
  assert.equal(store.hasPartition('constructor'), true)
  assert.deepEqual(store.partitions(), ['constructor'])
  const info = await store.info()
  assert.deepEqual(info.partitions.map((x) => x.id), ['constructor'])
  await store.close()
  const again = await Store.open('/d', { fs })
  assert.equal(await (await again.partition('constructor')).getString('k'), 'v')
  await again.close()
})
