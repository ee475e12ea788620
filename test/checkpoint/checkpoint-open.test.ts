/**
 * A checkpoint is a store, and stays one: Store.open of a checkpoint directory is refused with
 * IS_CHECKPOINT (opening it would write into the backup: its lock, its recovery, new writes);
 * restoreCheckpoint is the way. A read-only StoreReader of it is harmless and allowed.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { Store, StoreReader } from '../../src/partition/index.js'

test('Store.open of a checkpoint is IS_CHECKPOINT and writes nothing; a StoreReader reads it', async () => {
  const fs = new MemoryFileSystem({ seed: 3 })
  const store = await Store.open('/data', { fs })
  const p = await store.ensurePartition('p')
  for (let i = 0; i < 20; i++) await p.put(`k${i}`, `v${i}`)
  const cp = await checkpoint(store, '/cp', {})
  await store.close()
  const before = await fs.list('/cp')
  await assert.rejects(Store.open('/cp', { fs }), (e: unknown) => e instanceof CairnError && e.code === 'IS_CHECKPOINT')
  assert.deepEqual(await fs.list('/cp'), before, 'nothing was created in the checkpoint')
  assert.equal((await verifyCheckpoint('/cp', { fs })).ok, true)
  const reader = await StoreReader.open('/cp', { fs })
  try {
    const view = await reader.openPartition('p')
    assert.equal(view.appliedLsn, cp.partitions.p)
    assert.equal(new TextDecoder().decode(await view.get('k7')), 'v7')
    await view.close()
  } finally {
    await reader.close()
  }
  assert.equal((await verifyCheckpoint('/cp', { fs })).ok, true, 'reading it read-only leaves it as it was')
})
