/**
 * withSnapshot feeding Store.restorePartition, as a restore does: a chunk found damaged mid-stream
 * aborts that restore (nothing switched) and the next older snapshot is restored instead.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { MemoryObjectStore } from '../../src/objectstore/index.js'
import { Store } from '../../src/partition/index.js'
import { chunkKey, SnapshotRepository } from '../../src/snapshot/index.js'
import { hex, makeEntries, sourceOf } from './snapshot-helpers.js'

test('a damaged chunk mid-restore falls back to the previous snapshot through Store.restorePartition', async () => {
  const objects = new MemoryObjectStore()
  const repo = await SnapshotRepository.open(objects)
  const older = makeEntries(4000, { tag: 'old' })
  await repo.create('p', sourceOf(older, 10), { writer: { storeId: 's' } })
  await repo.create('p', sourceOf(makeEntries(4000, { tag: 'new' }), 20), { writer: { storeId: 's' } })
  const newest = await repo.manifest('p')
  assert.ok(newest.chunks.length > 3)
  const bad = chunkKey(newest.chunks[newest.chunks.length - 2]!.id)
  const bytes = Uint8Array.from((await objects.get(bad)).bytes)
  bytes[10]! ^= 0xff
  await objects.put(bad, bytes)

  const store = await Store.open('/data', { fs: new MemoryFileSystem() })
  try {
    const { result, manifest, fellBackFrom } = await repo.withSnapshot('p', (s) => store.restorePartition('p', { lsn: s.manifest.lsn, entries: s.entries() }))
    assert.equal(manifest.lsn, 10)
    assert.equal(fellBackFrom?.[0]?.lsn, 20)
    assert.equal(result.appliedLsn, 10)
    const got: [Uint8Array, Uint8Array][] = []
    for await (const [k, v] of result.scan()) got.push([Uint8Array.from(k), Uint8Array.from(v)])
    assert.deepEqual(hex(got), hex(older))
  } finally {
    await store.close()
  }
})
