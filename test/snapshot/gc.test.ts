/**
 * Chunk GC: never deletes a chunk a retained manifest names, nor one younger than the grace
 * period, nor one an upload in flight relies on (paused between its chunks and its manifest),
 * including old chunks that upload reuses; deletes unreferenced old chunks and orphan manifests.
 * A fake clock drives both the store's lastModified and the repository.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryObjectStore, type ObjectStore } from '../../src/objectstore/index.js'
import { chunkKey, SnapshotRepository } from '../../src/snapshot/index.js'
import { collect, hex, keysUnder, makeEntries, sourceOf } from './snapshot-helpers.js'

const writer = { storeId: 's' }
const graceMs = 10_000

function setup(keep = 3) {
  const clock = { ms: 1_700_000_000_000 }
  const now = () => clock.ms
  const store = new MemoryObjectStore({ now })
  return { clock, store, open: (s: ObjectStore = store) => SnapshotRepository.open(s, { now, gcGraceMs: graceMs, keep }) }
}

/** A store whose manifest puts wait until `release()` (an upload paused before its manifest). */
function pausingManifests(store: ObjectStore): { store: ObjectStore; paused: Promise<void>; release: () => void } {
  let release!: () => void
  let reached!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  const paused = new Promise<void>((r) => {
    reached = r
  })
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      if (prop === 'put') {
        return async (key: string, ...rest: unknown[]) => {
          if (/\/snapshots\/[^/]+\.json$/.test(key)) {
            reached()
            await gate
          }
          return (v as (...a: unknown[]) => unknown).apply(target, [key, ...rest])
        }
      }
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { store: wrapped, paused, release }
}

async function chunkIdsOf(repo: SnapshotRepository, partition: string): Promise<Set<string>> {
  const out = new Set<string>()
  for (const s of await repo.list(partition)) for (const c of (await repo.manifest(partition, s.snapshotId)).chunks) out.add(c.id)
  return out
}

describe('snapshot GC', () => {
  test('deletes only chunks no retained manifest names, once older than the grace period', async () => {
    const { clock, store, open } = setup(2)
    const repo = await open()
    for (const lsn of [1, 2, 3]) {
      await repo.create('p', sourceOf(makeEntries(3000, { tag: `t${lsn}` }), lsn), { writer })
      clock.ms += 1000
    }
    await repo.create('q', sourceOf(makeEntries(1500, { tag: 't1' }), 1), { writer }) // shares some chunks with p's evicted lsn 1
    const referenced = new Set([...(await chunkIdsOf(repo, 'p')), ...(await chunkIdsOf(repo, 'q'))])
    const all = await keysUnder(store, 'chunks/')
    const young = await repo.gc()
    assert.equal(young.chunksDeleted, 0)
    clock.ms += graceMs
    const r = await repo.gc()
    const left = await keysUnder(store, 'chunks/')
    assert.deepEqual(left.sort(), [...referenced].map(chunkKey).sort())
    assert.equal(r.chunksDeleted, all.length - referenced.size)
    assert.ok(r.chunksDeleted > 0)
    assert.equal((await repo.verify('p')).ok, true)
    assert.equal((await repo.verify('q')).ok, true)
  })

  test('an upload paused between its chunks and its manifest loses nothing to a GC, even chunks it reuses', async () => {
    const { clock, store, open } = setup(1)
    const repo = await open()
    const a = makeEntries(3000, { tag: 'a' })
    await repo.create('p', sourceOf(a, 1), { writer })
    clock.ms += 1000
    await repo.create('p', sourceOf(makeEntries(3000, { tag: 'b' }), 2), { writer }) // evicts lsn 1: a's chunks are unreferenced
    clock.ms += 0.6 * graceMs // a's chunks are now older than half the grace period
    const paused = pausingManifests(store)
    const inFlight = (await open(paused.store)).create('q', sourceOf(a, 7), { writer }) // reuses a's chunks
    await paused.paused
    clock.ms += 0.39 * graceMs // a's chunks were written 0.99 grace ago
    const gc = await repo.gc()
    assert.equal(gc.chunksDeleted, 0, 'the reused chunks were refreshed when the upload found them')
    paused.release()
    const r = await inFlight
    assert.equal(r.published, true)
    assert.equal((await repo.verify('q')).ok, true)
    assert.deepEqual(hex(await collect((await repo.open('q')).entries())), hex(a))
    // Once past the grace period, a GC keeps what q references and p's latest.
    clock.ms += 2 * graceMs
    await repo.gc()
    assert.equal((await repo.verify('q')).ok, true)
    assert.equal((await repo.verify('p')).ok, true)
  })

  test('a young manifest no pointer names (a create in flight) marks its chunks; an old one is deleted', async () => {
    const { clock, store, open } = setup()
    const repo = await open()
    await repo.create('p', sourceOf(makeEntries(1000, { tag: 'x' }), 1), { writer })
    await repo.create('p', sourceOf(makeEntries(1000, { tag: 'y' }), 2), { writer })
    const [newest, oldest] = await repo.list('p')
    // The older manifest, out of the pointer but still there, written now: as a create that
    // has written its manifest and not yet its pointer (or died there) leaves it.
    const orphanKey = oldest!.manifestKey
    const orphanBytes = (await store.get(orphanKey)).bytes
    await repo.prune('p', { keep: 1 })
    await store.put(orphanKey, orphanBytes)
    const young = await repo.gc()
    assert.deepEqual(young.manifestsDeleted, [])
    assert.equal(young.chunksDeleted, 0, 'a young manifest marks its chunks')
    clock.ms += graceMs
    const old = await repo.gc()
    assert.deepEqual(old.manifestsDeleted, [orphanKey])
    assert.ok(old.chunksDeleted > 0)
    assert.deepEqual(await keysUnder(store, 'partitions/p/snapshots/'), [newest!.manifestKey])
    assert.equal((await repo.verify('p')).ok, true)
  })
})
