/**
 * checkpoint(): a checkpoint of a live store is a store holding every partition as of the cut it
 * reports; the pins it takes are released; a non-empty target is refused.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { checkpoint, checkpointManifestFile, readCheckpointManifest, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { contentsOf } from './checkpoint-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

describe('checkpoint', () => {
  test('holds every partition at the reported LSN, tables linked and the active segment copied', async () => {
    const fs = new MemoryFileSystem({ seed: 1 })
    const store = await Store.open('/data', { fs, segmentBytesMax: 4096 })
    const a = await store.ensurePartition('a')
    const b = await store.ensurePartition('b')
    for (let i = 0; i < 200; i++) await a.put(`k${i}`, `v${i}`)
    await a.flush()
    for (let i = 200; i < 260; i++) await a.put(`k${i}`, `v${i}`)
    await b.put('x', '1')
    const before = { a: await contentsOf(a), b: await contentsOf(b) }
    const progress: number[] = []
    const cp = await checkpoint(store, '/backups/one', { onProgress: (p) => progress.push(p.filesDone) })
    assert.deepEqual(cp.partitions, { a: a.lastLsn, b: b.lastLsn })
    assert.equal(cp.path, '/backups/one')
    assert.ok(cp.linkedFiles > 0, 'tables and sealed segments are linked')
    assert.equal(cp.copiedFiles, 2, 'one active segment per partition is copied')
    assert.ok(progress.length > 0)
    await a.put('after', 'x')
    assert.deepEqual(a.info().trimHolds, [], 'the trim hold is released')
    const manifest = await readCheckpointManifest('/backups/one', { fs })
    assert.deepEqual(manifest.partitions, cp.partitions)
    assert.equal(manifest.storeId, store.storeId)
    assert.equal(manifest.files.length, cp.files)
    await store.close()
    const names = await fs.list('/backups/one')
    assert.ok(names.includes(checkpointManifestFile))
    assert.ok(!names.includes('LOCK'))
    const verified = await verifyCheckpoint('/backups/one', { fs, deep: true })
    assert.deepEqual(verified.problems, [])
    assert.equal(verified.ok, true)
    assert.deepEqual(verified.entries, { a: 260, b: 1 })
    const restored = await restoreCheckpoint('/backups/one', '/restored', { fs })
    assert.notEqual(restored.storeId, manifest.storeId, 'a restored store is another store')
    const again = await Store.open('/restored', { fs, create: false })
    assert.equal(again.storeId, restored.storeId)
    const ra = await again.partition('a')
    assert.equal(ra.lastLsn, cp.partitions.a)
    assert.deepEqual({ a: await contentsOf(ra), b: await contentsOf(await again.partition('b')) }, before)
    await ra.put('new', 'write')
    await again.close()
    assert.equal((await verifyCheckpoint('/backups/one', { fs })).ok, true, 'writing to the restored store leaves the checkpoint as it was')
  })

  test('of a log the state holds, only the frames after the state LSN are copied', async () => {
    const fs = new MemoryFileSystem({ seed: 3 })
    const store = await Store.open('/data', { fs })
    const p = await store.ensurePartition('p')
    for (let i = 0; i < 300; i++) await p.put(`k${i}`, `v${i} ${'x'.repeat(100)}`)
    await p.flush()
    await p.put('last', 'one')
    const cp = await checkpoint(store, '/cp')
    const segments = (await readCheckpointManifest('/cp', { fs })).files.filter((f) => f.path.endsWith('.log'))
    assert.equal(segments.length, 1)
    assert.ok(segments[0]!.bytes < 200, `the segment holds a header and one frame (${segments[0]!.bytes} bytes)`)
    assert.ok(segments[0]!.path.endsWith(`${String(cp.partitions.p).padStart(20, '0')}.log`), 'it is named for its first LSN')
    await store.close()
    assert.deepEqual((await verifyCheckpoint('/cp', { fs })).problems, [])
    await restoreCheckpoint('/cp', '/restored', { fs })
    const again = await Store.open('/restored', { fs })
    const rp = await again.partition('p')
    assert.equal(rp.lastLsn, cp.partitions.p)
    assert.equal(await rp.getString('last'), 'one')
    assert.equal(await rp.getString('k7'), `v7 ${'x'.repeat(100)}`)
    assert.equal(await rp.put('next', 'write'), cp.partitions.p + 1, 'the restored log goes on from the cut')
    await again.close()
  })

  test('checkpoints taken at once, while writers write, each hold their own cut', async () => {
    const fs = new MemoryFileSystem({ seed: 4 })
    const store = await Store.open('/data', { fs, segmentBytesMax: 4096, memtableBytesMax: 4096 })
    const p = await store.ensurePartition('p')
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing; i++) await p.put(`k${i % 30}`, `v${i}`)
    })()
    const cps = await Promise.all([1, 2, 3].map((n) => checkpoint(store, `/cp${n}`)))
    writing = false
    await writer
    assert.deepEqual(p.info().trimHolds, [])
    await store.close()
    for (const cp of cps) {
      assert.deepEqual((await verifyCheckpoint(cp.path, { fs, deep: true })).problems, [], cp.path)
    }
  })

  test('a target inside the store is refused', async () => {
    const fs = new MemoryFileSystem({ seed: 6 })
    const store = await Store.open('/data', { fs })
    await store.ensurePartition('p')
    await assert.rejects(checkpoint(store, '/data/backup'), isCode('INVALID_ARGUMENT'))
    await assert.rejects(checkpoint(store, '/'), isCode('INVALID_ARGUMENT'))
    await store.close()
  })

  test('a non-empty target is TARGET_NOT_EMPTY and left alone', async () => {
    const fs = new MemoryFileSystem({ seed: 2 })
    const store = await Store.open('/data', { fs })
    await (await store.ensurePartition('a')).put('k', 'v')
    await fs.mkdir('/backups/full', true)
    const h = await fs.open('/backups/full/x', 'createNew')
    await h.close()
    await assert.rejects(checkpoint(store, '/backups/full'), isCode('TARGET_NOT_EMPTY'))
    assert.deepEqual(await fs.list('/backups/full'), ['x'])
    assert.deepEqual(await fs.list('/backups'), ['full'], 'no temp directory is left')
    await store.close()
  })
})
