/**
 * SnapshotManager: snapshots recorded in the catalog with the epoch taken, `minLsn` (declines
 * with STALE_PARTITION, reuses an existing snapshot at or above it), one snapshot in flight per
 * partition, fencing between two stores on one repository (REPOSITORY_FENCED until a take-over).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { readSnapshotMeta, SnapshotManager } from '../../src/snapshot/index.js'
import { CountingObjectStore, MemoryFileSystem, MemoryObjectStore, openStore, repositoryOver, writeRecords } from '../helpers/snapshot-store-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

describe('SnapshotManager', () => {
  test('createSnapshot publishes at the applied LSN and records it (with the epoch) in the catalog', async () => {
    const fs = new MemoryFileSystem()
    const objects = new CountingObjectStore()
    const store = await openStore(fs)
    const manager = SnapshotManager.attach(store, await repositoryOver(objects))
    const p = await store.createPartition('p')
    await writeRecords(p, 1, 300, 50)
    const r = await manager.createSnapshot('p')
    assert.equal(r.lsn, 300)
    assert.equal(r.published, true)
    assert.equal(r.reused, false)
    assert.equal(r.archivedLsn, 300)
    assert.ok(r.chunksTotal >= 1 && r.chunksUploaded === r.chunksTotal && r.bytesUploaded > 0)
    const meta = readSnapshotMeta(store, 'p')!
    assert.deepEqual(
      { snapshotId: meta.snapshotId, lsn: meta.lsn, rootHash: meta.rootHash, archivedLsn: meta.archivedLsn, epoch: meta.epoch, source: meta.source, repository: meta.repository },
      { snapshotId: r.snapshotId, lsn: 300, rootHash: r.rootHash, archivedLsn: 300, epoch: 1, source: 'created', repository: objects.url },
    )
    // Nothing new: the repository answers with the one it has.
    const again = await manager.createSnapshot('p')
    assert.equal(again.published, false)
    assert.equal(again.snapshotId, r.snapshotId)
    // Reopening the store makes no object-store call: the record is in the catalog.
    await manager.close()
    await store.close()
    objects.reset()
    const reopened = await openStore(fs)
    const m2 = SnapshotManager.attach(reopened, await repositoryOver(objects))
    assert.equal(m2.lastSnapshot('p')?.snapshotId, r.snapshotId)
    await reopened.partition('p')
    assert.deepEqual(objects.calls, {})
    await m2.close()
    await reopened.close()
  })

  test('minLsn: STALE_PARTITION below the applied LSN; an existing snapshot at or above it is returned, not a new one', async () => {
    const fs = new MemoryFileSystem()
    const objects = new CountingObjectStore()
    const store = await openStore(fs)
    const manager = SnapshotManager.attach(store, await repositoryOver(objects))
    const p = await store.createPartition('p')
    await writeRecords(p, 1, 100, 20)
    await assert.rejects(manager.createSnapshot('p', { minLsn: 101 }), (e: unknown) => {
      assert.ok(isCode('STALE_PARTITION')(e), String(e))
      assert.deepEqual((e as CairnError).context, { partition: 'p', appliedLsn: 100, minLsn: 101 })
      return true
    })
    const first = await manager.createSnapshot('p', { minLsn: 100 })
    assert.equal(first.published, true)
    await writeRecords(p, 101, 150, 20)
    objects.reset()
    const reused = await manager.createSnapshot('p', { minLsn: 90 })
    assert.equal(reused.reused, true)
    assert.equal(reused.snapshotId, first.snapshotId)
    assert.equal(reused.lsn, 100)
    assert.equal(reused.bytesUploaded, 0)
    assert.equal(objects.calls.put, undefined, 'nothing uploaded')
    const newer = await manager.createSnapshot('p', { minLsn: 120 })
    assert.equal(newer.published, true)
    assert.equal(newer.lsn, 150)
    await assert.rejects(manager.createSnapshot('p', { minLsn: -1 }), isCode('INVALID_ARGUMENT'))
    await manager.close()
    await store.close()
  })

  test('one snapshot in flight per partition: concurrent requests wait for it and reuse it', async () => {
    const fs = new MemoryFileSystem()
    const objects = new CountingObjectStore()
    const store = await openStore(fs)
    const manager = SnapshotManager.attach(store, await repositoryOver(objects))
    const p = await store.createPartition('p')
    await writeRecords(p, 1, 200, 40)
    const pending = [manager.createSnapshot('p'), manager.createSnapshot('p'), manager.createSnapshot('p')]
    assert.equal(manager.inFlight('p'), true)
    const results = await Promise.all(pending)
    assert.equal(manager.inFlight('p'), false)
    const manifests = objects.keys.filter((k) => k.startsWith('put ') && k.includes('/snapshots/'))
    assert.equal(manifests.length, 1, 'one snapshot made')
    assert.equal(new Set(results.map((r) => r.snapshotId)).size, 1)
    assert.deepEqual(
      results.map((r) => r.published),
      [true, false, false],
    )
    await manager.close()
    await store.close()
  })

  test('two stores on one repository: the second is fenced until it takes over, then the first is', async () => {
    const objects = new MemoryObjectStore()
    const a = await openStore(new MemoryFileSystem())
    const b = await openStore(new MemoryFileSystem())
    const ma = SnapshotManager.attach(a, await repositoryOver(objects))
    const mb = SnapshotManager.attach(b, await repositoryOver(objects), { recover: false })
    await writeRecords(await a.createPartition('p'), 1, 50, 10)
    await writeRecords(await b.createPartition('p'), 1, 80, 10)
    assert.equal((await ma.createSnapshot('p')).epoch, 1)
    await assert.rejects(mb.createSnapshot('p'), (e: unknown) => isCode('REPOSITORY_FENCED')(e) && /--take-over/.test((e as Error).message))
    const taken = await mb.createSnapshot('p', { takeOver: true })
    assert.equal(taken.epoch, 2)
    assert.equal(readSnapshotMeta(b, 'p')?.epoch, 2)
    await writeRecords(await a.partition('p'), 51, 120, 10)
    await assert.rejects(ma.createSnapshot('p'), isCode('REPOSITORY_FENCED'))
    assert.equal((await mb.repo.latest('p'))?.snapshots[0]?.lsn, 80, 'the fenced store published nothing')
    await ma.close()
    await mb.close()
    await a.close()
    await b.close()
  })

  test('a take-over with a snapshot not newer than the latest publishes nothing and records no epoch it does not hold', async () => {
    const objects = new MemoryObjectStore()
    const a = await openStore(new MemoryFileSystem())
    const b = await openStore(new MemoryFileSystem())
    const ma = SnapshotManager.attach(a, await repositoryOver(objects))
    const mb = SnapshotManager.attach(b, await repositoryOver(objects), { recover: false })
    await writeRecords(await a.createPartition('p'), 1, 80, 10)
    await writeRecords(await b.createPartition('p'), 1, 50, 10)
    await ma.createSnapshot('p')
    const behind = await mb.createSnapshot('p', { takeOver: true })
    assert.equal(behind.published, false)
    assert.equal(behind.epoch, 0, 'it holds no epoch')
    assert.equal(readSnapshotMeta(b, 'p')?.epoch, undefined, 'b holds no epoch: the pointer still names a')
    assert.deepEqual((await mb.repo.latest('p'))?.writer, { storeId: a.storeId, epoch: 1 })
    await writeRecords(await a.partition('p'), 81, 90, 10)
    assert.equal((await ma.createSnapshot('p')).published, true, 'the owner was not fenced by it')
    await ma.close()
    await mb.close()
    await a.close()
    await b.close()
  })
})
