/**
 * `Store.attachRecovery`: a partition the catalog lacks is offered to `bootstrap` before it is
 * reported missing or created empty, a TRIM_GAP to `repairTrimGap` once; a hook's error is the
 * open's error (never an empty partition).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { type PartitionRecovery, Store } from '../../src/partition/index.js'

const enc = new TextEncoder()
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

test('bootstrap: restored, declined (missing or created), or failing (the error, nothing created)', async () => {
  const fs = new MemoryFileSystem()
  const store = await Store.open('/data', { fs })
  const asked: string[] = []
  const recovery: PartitionRecovery = {
    async bootstrap(id) {
      asked.push(id)
      if (id === 'remote') {
        await store.restorePartition(id, { lsn: 7, entries: [[enc.encode('k'), enc.encode('v')]] })
        return true
      }
      if (id === 'broken') throw new CairnError('OBJECT_STORE_ERROR', 'the repository is unreachable')
      return false
    },
    repairTrimGap: async () => false,
  }
  store.attachRecovery(recovery)
  const remote = await store.partition('remote')
  assert.equal(remote.lastLsn, 7)
  assert.equal(await remote.getString('k'), 'v')
  await assert.rejects(store.partition('absent'), isCode('PARTITION_NOT_FOUND'))
  const created = await store.ensurePartition('fresh')
  assert.equal(created.lastLsn, 0)
  await assert.rejects(store.ensurePartition('broken'), isCode('OBJECT_STORE_ERROR'))
  await assert.rejects(store.partition('broken'), isCode('OBJECT_STORE_ERROR'))
  assert.equal(store.hasPartition('broken'), false, 'a repository error never yields an empty partition')
  assert.deepEqual(asked, ['remote', 'absent', 'fresh', 'broken', 'broken'])
  // Known partitions are not offered again.
  await store.partition('remote')
  await store.ensurePartition('fresh')
  assert.equal(asked.length, 5)
  await store.close()
})

test('repairTrimGap: asked once on TRIM_GAP; a repair that restores opens the partition, a declined one is the gap', async () => {
  const fs = new MemoryFileSystem()
  const setup = await Store.open('/data', { fs, segmentBytesMax: 4096 })
  for (const id of ['a', 'b']) {
    const p = await setup.createPartition(id)
    for (let i = 1; i <= 150; i++) await p.put(`k${i % 9}`, `${i} ${'x'.repeat(60)}`)
    await p.flush()
    await p.trim(120)
  }
  await setup.close()
  for (const id of ['a', 'b']) await fs.removeTree(`/data/partitions/${id}/state`)
  const store = await Store.open('/data', { fs })
  const asked: string[] = []
  store.attachRecovery({
    bootstrap: async () => false,
    async repairTrimGap(id, error) {
      asked.push(id)
      assert.equal(error.code, 'TRIM_GAP')
      if (id === 'b') return false
      await store.restorePartition(id, { lsn: 150, entries: [[enc.encode('all'), enc.encode('restored')]], keepLog: true })
      return true
    },
  })
  const a = await store.partition('a')
  assert.equal(await a.getString('all'), 'restored')
  assert.equal(a.lastLsn, 150)
  await assert.rejects(store.partition('b'), isCode('TRIM_GAP'))
  assert.deepEqual(asked, ['a', 'b'])
  await store.close()
})
