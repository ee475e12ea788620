/**
 * Faults of the object store under create: a put that committed but whose client saw a timeout,
 * on a chunk, the manifest and the pointer; failures at random (seeded). Retrying converges,
 * the pointer never regresses, and no published manifest names a missing chunk.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { FaultObjectStore, MemoryObjectStore } from '../../src/objectstore/index.js'
import { latestKey, SnapshotRepository } from '../../src/snapshot/index.js'
import { testSeed, withSeed } from '../helpers/seed.js'
import { keysUnder, makeEntries, sourceOf } from './snapshot-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const writer = { storeId: 's' }

async function setup() {
  const inner = new MemoryObjectStore()
  const store = new FaultObjectStore(inner)
  const repo = await SnapshotRepository.open(store, { uploadParallelism: 2 })
  const clean = await SnapshotRepository.open(inner)
  return { inner, store, repo, clean }
}

describe('create under object-store faults', () => {
  test('a chunk put that committed but timed out: the retry uploads only what is missing', async () => {
    const { inner, store, repo, clean } = await setup()
    const entries = makeEntries(4000, { valueBytes: 150 })
    store.failNext('put', 'commitThenFail', { keyPrefix: 'chunks/' })
    await assert.rejects(repo.create('p', sourceOf(entries, 10), { writer }), isCode('OBJECT_STORE_ERROR'))
    assert.equal(await clean.latest('p'), undefined)
    const present = (await keysUnder(inner, 'chunks/')).length
    assert.ok(present >= 1)
    const r = await repo.create('p', sourceOf(entries, 10), { writer })
    assert.equal(r.published, true)
    assert.equal(r.chunksUploaded, r.chunksTotal - present)
    assert.equal((await clean.verify('p')).ok, true)
  })

  test('a manifest put that committed but timed out: the retry publishes a new one; GC removes the orphan later', async () => {
    const clock = { ms: 1_000_000 }
    const now = () => clock.ms
    const inner = new MemoryObjectStore({ now })
    const store = new FaultObjectStore(inner)
    const repo = await SnapshotRepository.open(store, { now, gcGraceMs: 1000 })
    store.failNext('put', 'commitThenFail', { keyPrefix: 'partitions/p/snapshots/' })
    await assert.rejects(repo.create('p', sourceOf(makeEntries(500), 10), { writer }), isCode('OBJECT_STORE_ERROR'))
    const r = await repo.create('p', sourceOf(makeEntries(500), 10), { writer })
    assert.equal(r.published, true)
    assert.equal(r.chunksUploaded, 0)
    assert.equal((await keysUnder(inner, 'partitions/p/snapshots/')).length, 2)
    clock.ms += 2000
    const gc = await repo.gc()
    assert.equal(gc.manifestsDeleted.length, 1)
    assert.deepEqual(await keysUnder(inner, 'partitions/p/snapshots/'), [(await repo.list('p'))[0]!.manifestKey])
    assert.equal((await repo.verify('p')).ok, true)
  })

  test('a pointer put that committed but timed out: the retry finds it published; the pointer never regresses', async () => {
    const { store, repo, clean } = await setup()
    await repo.create('p', sourceOf(makeEntries(300, { tag: 'a' }), 5), { writer })
    store.failNext('put', 'commitThenFail', { keyPrefix: latestKey('p') })
    await assert.rejects(repo.create('p', sourceOf(makeEntries(300, { tag: 'b' }), 10), { writer }), isCode('OBJECT_STORE_ERROR'))
    const published = (await clean.latest('p'))!.snapshots[0]!
    assert.equal(published.lsn, 10)
    const retry = await repo.create('p', sourceOf(makeEntries(300, { tag: 'b' }), 10), { writer })
    assert.equal(retry.published, false)
    assert.equal(retry.snapshotId, published.snapshotId)
    const stale = await repo.create('p', sourceOf(makeEntries(300, { tag: 'c' }), 7), { writer })
    assert.equal(stale.published, false)
    assert.equal((await clean.latest('p'))!.snapshots[0]!.lsn, 10)
    assert.equal((await clean.verify('p')).ok, true)
  })

  test('a failed delete of an evicted manifest does not fail a create that published', async () => {
    const { store, repo, clean } = await setup()
    const keepOne = await SnapshotRepository.open(store, { keep: 1 })
    await repo.create('p', sourceOf(makeEntries(100), 1), { writer })
    store.failNext('delete', 'fail', { keyPrefix: 'partitions/p/snapshots/' })
    const r = await keepOne.create('p', sourceOf(makeEntries(100, { tag: 'n' }), 2), { writer })
    assert.equal(r.published, true)
    assert.deepEqual((await clean.list('p')).map((s) => s.lsn), [2])
  })

  test('random failures and ambiguous puts: retries converge, the pointer never regresses, nothing dangles', async () => {
    const seed = testSeed()
    await withSeed(seed, async () => {
      const inner = new MemoryObjectStore()
      const store = new FaultObjectStore(inner, {
        seed,
        rates: { put: { fail: 0.05, commitThenFail: 0.05 }, get: { fail: 0.03 }, head: { fail: 0.03 }, delete: { fail: 0.05 } },
      })
      const repo = await SnapshotRepository.open(store, { keep: 2, uploadParallelism: 3 })
      const clean = await SnapshotRepository.open(inner)
      let highest = 0
      for (let round = 1; round <= 12; round++) {
        const lsn = round * 10
        const entries = makeEntries(800, { tag: `r${round % 3}`, valueBytes: 120 })
        for (let attempt = 0; ; attempt++) {
          assert.ok(attempt < 50, 'a create kept failing')
          try {
            await repo.create('p', sourceOf(entries, lsn), { writer })
            break
          } catch (e) {
            assert.ok(isCode('OBJECT_STORE_ERROR')(e), String(e))
          } finally {
            const latest = await clean.latest('p')
            const now = latest?.snapshots[0]?.lsn ?? 0
            assert.ok(now >= highest, `the pointer went from ${highest} back to ${now}`)
            highest = now
          }
        }
        assert.equal(highest, lsn)
        const v = await clean.verify('p')
        assert.deepEqual(v.problems, [])
      }
    })
  })
})
