/**
 * Pause points inside a checkpoint (after the cut, before the rename): the source goes on
 * writing, flushes, compacts, rolls its log and trims there, and the checkpoint still holds
 * exactly the state of its cut. While it runs, its trim hold keeps the log it needs and its
 * retained state keeps the tables it links; both are released when it is done.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CheckpointHooks, checkpoint, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { contentsOf } from './checkpoint-helpers.js'

async function busy(store: Store, p: Partition, round: number): Promise<void> {
  for (let i = 0; i < 150; i++) await p.put(`k${i % 40}`, `round ${round} ${i}`)
  await p.delete('k3')
  await p.flush()
  await store.rollPartitionLog(p.id)
  for (let i = 0; i < 50; i++) await p.put(`k${i}`, `late ${round} ${i}`)
  await p.compact()
  await p.trim(p.lastLsn + 1)
}

for (const at of ['afterCut', 'beforeRename', 'both'] as const) {
  describe(`a checkpoint paused ${at}`, () => {
    test('holds the state of its cut while the source flushes, compacts, rolls and trims', async () => {
      const fs = new MemoryFileSystem({ seed: 7 })
      const store = await Store.open('/data', { fs, segmentBytesMax: 4096, memtableBytesMax: 4096 })
      const p = await store.ensurePartition('p')
      const q = await store.ensurePartition('q')
      for (let i = 0; i < 300; i++) await p.put(`k${i % 60}`, `first ${i}`)
      await p.flush()
      for (let i = 0; i < 40; i++) await p.put(`k${i}`, `unflushed ${i}`)
      await q.put('only', 'one')
      // Nothing writes between here and the call: the cut is this state (no snapshot pins its tables).
      const expected = await contentsOf(p)
      const lastLsn = p.lastLsn
      let paused = 0
      const pause = async (round: number): Promise<void> => {
        paused++
        const [hold] = p.info().trimHolds
        assert.ok(hold?.who.startsWith('checkpoint'), 'the checkpoint holds the log')
        await busy(store, p, round)
        assert.ok(p.firstLsn <= hold.fromLsn, 'the trim stopped at the hold')
      }
      const hooks: CheckpointHooks = {
        afterCut: () => (at !== 'beforeRename' ? pause(1) : undefined),
        beforeRename: () => (at !== 'afterCut' ? pause(2) : undefined),
      }
      const cp = await checkpoint(store, '/cp', { hooks })
      assert.equal(paused, at === 'both' ? 2 : 1)
      assert.equal(cp.partitions.p, lastLsn)
      assert.deepEqual(p.info().trimHolds, [], 'the hold is released')
      const held = p.firstLsn
      await store.rollPartitionLog('p')
      await p.put('after', 'roll')
      await p.flush()
      await p.trim(p.lastLsn + 1)
      assert.ok(p.firstLsn > held, 'the log trims past the released hold')
      await busy(store, p, 3)
      await store.close()
      assert.equal((await verifyCheckpoint('/cp', { fs })).ok, true)
      await restoreCheckpoint('/cp', '/restored', { fs })
      const copy = await Store.open('/restored', { fs, create: false })
      const rp = await copy.partition('p')
      assert.equal(rp.lastLsn, cp.partitions.p)
      assert.deepEqual(await contentsOf(rp), expected)
      assert.deepEqual(await contentsOf(await copy.partition('q')), { only: 'one' })
      await copy.close()
    })
  })
}
