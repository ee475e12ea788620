/**
 * Bootstrap: a store that lacks a partition restores it from the repository when it is opened
 * (one GET of latest.json, the manifest, verified chunks), equal to the source at the snapshot's
 * LSN; a damaged latest snapshot falls back to an older one and says so; a repository error is
 * the open's error, never an empty partition; a restored store is another writer (fenced until
 * it takes over).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { chunkKey, readSnapshotMeta, type SnapshotEvent, SnapshotManager } from '../../src/snapshot/index.js'
import { CountingObjectStore, MemoryFileSystem, modelAt, openStore, repositoryOver, stateOf, writeRecords } from '../helpers/snapshot-store-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const keys = 40

/** A source store that published snapshots at 100 and 200 (keep 3), with records up to 260. */
async function source(objects: CountingObjectStore) {
  const store = await openStore(new MemoryFileSystem())
  const manager = SnapshotManager.attach(store, await repositoryOver(objects))
  const p = await store.createPartition('p')
  await writeRecords(p, 1, 100, keys)
  const first = await manager.createSnapshot('p')
  await writeRecords(p, 101, 200, keys)
  const second = await manager.createSnapshot('p')
  await writeRecords(p, 201, 260, keys)
  return { store, manager, p, first, second }
}

describe('bootstrap', () => {
  test('opening a partition the store lacks restores it: equal to the source at L, one GET of latest.json', async () => {
    const objects = new CountingObjectStore()
    const src = await source(objects)
    const fs = new MemoryFileSystem()
    const store = await openStore(fs)
    const events: SnapshotEvent[] = []
    const manager = SnapshotManager.attach(store, await repositoryOver(objects), { onEvent: (e) => events.push(e) })
    objects.reset()
    const p = await store.partition('p')
    assert.equal(objects.keys.filter((k) => k.endsWith('latest.json')).length, 1, 'one GET of latest.json')
    assert.equal(objects.calls.put, undefined, 'a bootstrap writes nothing to the repository')
    assert.equal(p.lastLsn, 200)
    assert.equal(p.firstLsn, 201)
    assert.deepEqual(await stateOf(p), modelAt(200, keys), 'equal to the source at L')
    const meta = readSnapshotMeta(store, 'p')!
    assert.equal(meta.source, 'restored')
    assert.equal(meta.snapshotId, src.second.snapshotId)
    assert.equal(meta.epoch, undefined, 'no writer epoch: a restored store is another writer')
    assert.deepEqual(
      events.map((e) => e.kind),
      ['restore'],
    )
    // Tail replay: the source's records after L, appended with their LSNs, give the source at its head.
    for await (const batch of src.p.readBatches({ fromLsn: 201 })) await p.appendReplicated(batch)
    assert.equal(p.lastLsn, 260)
    assert.deepEqual(await stateOf(p), await stateOf(src.p), 'equal to the source at its head after the tail')
    // Another writer: fenced until it takes over.
    await writeRecords(p, 261, 270, keys)
    await assert.rejects(manager.createSnapshot('p'), isCode('REPOSITORY_FENCED'))
    const taken = await manager.createSnapshot('p', { takeOver: true })
    assert.equal(taken.epoch, 2)
    await assert.rejects(src.manager.createSnapshot('p'), isCode('REPOSITORY_FENCED'))
    // A partition the repository does not have is missing (partition) or created empty (ensurePartition).
    await assert.rejects(store.partition('absent'), isCode('PARTITION_NOT_FOUND'))
    assert.equal((await store.ensurePartition('fresh')).lastLsn, 0)
    await manager.close()
    await store.close()
    await src.manager.close()
    await src.store.close()
  })

  test('a damaged latest snapshot falls back to the older one and says so', async () => {
    const objects = new CountingObjectStore()
    const src = await source(objects)
    const manifest = await src.manager.repo.manifest('p', src.second.snapshotId)
    const firstChunks = new Set((await src.manager.repo.manifest('p', src.first.snapshotId)).chunks.map((c) => c.id))
    const victim = manifest.chunks.find((c) => !firstChunks.has(c.id))!
    await objects.inner.put(chunkKey(victim.id), new TextEncoder().encode('garbage'))
    const store = await openStore(new MemoryFileSystem())
    const events: SnapshotEvent[] = []
    const manager = SnapshotManager.attach(store, await repositoryOver(objects), { onEvent: (e) => events.push(e) })
    const p = await store.partition('p')
    assert.equal(p.lastLsn, 100)
    assert.deepEqual(await stateOf(p), modelAt(100, keys))
    const restore = events.find((e) => e.kind === 'restore')
    assert.ok(restore !== undefined && restore.kind === 'restore')
    assert.deepEqual(
      restore.result.fellBackFrom?.map((n) => [n.snapshotId, n.code]),
      [[src.second.snapshotId, 'CORRUPT_SNAPSHOT']],
    )
    await manager.close()
    await store.close()
    await src.manager.close()
    await src.store.close()
  })

  test('a repository error is the open error, never an empty partition; it is retried at the next open', async () => {
    const objects = new CountingObjectStore()
    const src = await source(objects)
    const store = await openStore(new MemoryFileSystem())
    const manager = SnapshotManager.attach(store, await repositoryOver(objects))
    objects.failing = (op) => op === 'get'
    await assert.rejects(store.partition('p'), isCode('OBJECT_STORE_ERROR'))
    await assert.rejects(store.ensurePartition('p'), isCode('OBJECT_STORE_ERROR'))
    assert.equal(store.hasPartition('p'), false)
    objects.failing = (op, key) => op === 'get' && key.startsWith('chunks/')
    await assert.rejects(store.partition('p'), (e: unknown) => e instanceof CairnError && e.code !== 'PARTITION_NOT_FOUND')
    assert.equal(store.hasPartition('p'), false, 'a failure mid-download leaves nothing')
    objects.failing = undefined
    assert.equal((await store.partition('p')).lastLsn, 200)
    await manager.close()
    await store.close()
    await src.manager.close()
    await src.store.close()
  })
})
