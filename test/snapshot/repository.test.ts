/**
 * SnapshotRepository over the in-memory object store: create → open round trip, incremental
 * uploads, the never-regressing pointer, writer fencing, keep-N retention, latest in one GET.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { FaultObjectStore, MemoryObjectStore, type ObjectStore } from '../../src/objectstore/index.js'
import { Store } from '../../src/partition/index.js'
import { chunkBytesMax, chunkBytesMin, SnapshotRepository } from '../../src/snapshot/index.js'
import { collect, type Entries, hex, keysUnder, makeEntries, partitionSource, sourceOf } from './snapshot-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const writer = { storeId: 'store-a' }

/** Counts calls per operation. */
function counting(store: ObjectStore): { store: ObjectStore; counts: Record<string, number> } {
  const counts: Record<string, number> = { get: 0, put: 0, head: 0, list: 0, delete: 0 }
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      if (typeof prop === 'string' && prop in counts && typeof v === 'function') {
        return (...args: unknown[]) => {
          counts[prop]!++
          return (v as (...a: unknown[]) => unknown).apply(target, args)
        }
      }
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { store: wrapped, counts }
}

describe('SnapshotRepository', () => {
  test('create then open yields exactly the entries; chunk sizes stay within bounds', async () => {
    const store = new MemoryObjectStore()
    const repo = await SnapshotRepository.open(store)
    const entries = makeEntries(20_000, { valueBytes: 90 })
    const r = await repo.create('orders', sourceOf(entries, 42), { writer })
    assert.equal(r.published, true)
    assert.equal(r.epoch, 1)
    assert.equal(r.lsn, 42)
    assert.equal(r.entries, 20_000)
    assert.equal(r.chunksUploaded, r.chunksTotal)
    assert.ok(r.chunksTotal > 5, `${r.chunksTotal} chunks`)
    const opened = await repo.open('orders')
    assert.equal(opened.fellBackFrom, undefined)
    assert.equal(opened.manifest.snapshotId, r.snapshotId)
    assert.deepEqual(hex(await collect(opened.entries())), hex(entries))
    const sizes = opened.manifest.chunks.map((c) => c.bytes)
    for (const [i, s] of sizes.entries()) {
      assert.ok(s <= chunkBytesMax, `chunk ${i} is ${s} bytes`)
      if (i < sizes.length - 1) assert.ok(s >= chunkBytesMin, `chunk ${i} is ${s} bytes`)
    }
  })

  test("a partition's read snapshot round-trips exactly, writes after it excluded", async () => {
    const store = await Store.open('/data', { fs: new MemoryFileSystem() })
    try {
      const p = await store.ensurePartition('orders')
      const entries = makeEntries(6000, { valueBytes: 80 })
      for (let i = 0; i < entries.length; i += 500) {
        await p.write({ ops: entries.slice(i, i + 500).map(([key, value]) => ({ type: 'put' as const, key, value })) })
        if (i % 2000 === 0) await p.flush()
      }
      await p.deleteRange(entries[100]![0], entries[200]![0])
      const { source, close } = partitionSource(p)
      const expected: Entries = []
      for await (const [k, v] of p.scan()) expected.push([Uint8Array.from(k), Uint8Array.from(v)])
      await p.put('zzz-after', 'not in the snapshot')
      try {
        const repo = await SnapshotRepository.open(new MemoryObjectStore())
        const r = await repo.create('orders', source, { writer })
        assert.equal(r.lsn, p.appliedLsn - 1)
        assert.equal(r.entries, expected.length)
        const opened = await repo.open('orders')
        assert.equal(opened.manifest.logId, p.logId)
        assert.deepEqual(hex(await collect(opened.entries())), hex(expected))
      } finally {
        await close()
      }
    } finally {
      await store.close()
    }
  })

  test('the source iterator is closed when create fails, and when it succeeds', async () => {
    const entries = makeEntries(5000)
    let returned = 0
    const source = {
      lsn: 3,
      logId: 'l',
      scan: () => {
        const inner = entries[Symbol.iterator]()
        const it: AsyncIterableIterator<[Uint8Array, Uint8Array]> = {
          next: async () => inner.next(),
          return: async () => {
            returned++
            return { done: true, value: undefined }
          },
          [Symbol.asyncIterator]: () => it,
        }
        return it
      },
    }
    const store = new FaultObjectStore(new MemoryObjectStore())
    store.failNext('put', 'fail', { keyPrefix: 'chunks/' })
    const repo = await SnapshotRepository.open(store)
    await assert.rejects(repo.create('p', source, { writer }), isCode('OBJECT_STORE_ERROR'))
    assert.equal(returned, 1)
    await repo.create('p', source, { writer })
    assert.equal(returned, 2)
  })

  test('compression changes the stored bytes, never the chunk ids or root', async () => {
    const entries = makeEntries(5000, { valueBytes: 120 }).map(([k, v]): [Uint8Array, Uint8Array] => [k, v.fill(7, 60)])
    const plainStore = new MemoryObjectStore()
    const packedStore = new MemoryObjectStore()
    const plain = await (await SnapshotRepository.open(plainStore, { compression: 'none' })).create('p', sourceOf(entries, 1), { writer })
    const packedRepo = await SnapshotRepository.open(packedStore, { compression: 'deflate' })
    const packed = await packedRepo.create('p', sourceOf(entries, 1), { writer })
    assert.equal(packed.rootHash, plain.rootHash)
    assert.deepEqual(await keysUnder(packedStore, 'chunks/'), await keysUnder(plainStore, 'chunks/'))
    assert.ok(packed.bytesUploaded < plain.bytesUploaded * 0.8, `${packed.bytesUploaded} vs ${plain.bytesUploaded}`)
    assert.deepEqual(hex(await collect((await packedRepo.open('p')).entries())), hex(entries))
    assert.deepEqual((await packedRepo.verify('p')).problems, [])
  })

  test('an entry bigger than the maximum is a chunk on its own', async () => {
    const repo = await SnapshotRepository.open(new MemoryObjectStore())
    const entries = makeEntries(3, { valueBytes: 10 })
    entries[1]![1] = new Uint8Array(chunkBytesMax + 10).fill(7)
    const r = await repo.create('big', sourceOf(entries, 1), { writer })
    const m = await repo.manifest('big')
    assert.deepEqual(m.chunks.map((c) => c.entries), [1, 1, 1])
    assert.equal(r.chunksTotal, 3)
    assert.deepEqual(hex(await collect((await repo.open('big')).entries())), hex(entries))
  })

  test('the next snapshot uploads only the chunks that changed', async () => {
    const repo = await SnapshotRepository.open(new MemoryObjectStore())
    const entries = makeEntries(30_000, { valueBytes: 100 })
    const first = await repo.create('p', sourceOf(entries, 10), { writer })
    // Change a contiguous run of 100 entries in the middle.
    const changed = entries.map(([k, v], i): [Uint8Array, Uint8Array] => [k, i >= 15_000 && i < 15_100 ? v.map((b) => b ^ 1) : v])
    const second = await repo.create('p', sourceOf(changed, 20), { writer })
    assert.equal(second.published, true)
    assert.equal(second.chunksTotal, first.chunksTotal)
    assert.ok(second.chunksUploaded >= 1 && second.chunksUploaded <= 3, `${second.chunksUploaded} chunks uploaded`)
    const a = (await repo.manifest('p', first.snapshotId)).chunks.map((c) => c.id)
    const b = (await repo.manifest('p', second.snapshotId)).chunks.map((c) => c.id)
    assert.equal(a.filter((id, i) => b[i] !== id).length, second.chunksUploaded)
    assert.deepEqual(hex(await collect((await repo.open('p')).entries())), hex(changed))
  })

  test('a snapshot not newer than the latest is not published and leaves no manifest', async () => {
    const store = new MemoryObjectStore()
    const repo = await SnapshotRepository.open(store)
    const newer = await repo.create('p', sourceOf(makeEntries(100), 50), { writer })
    const older = await repo.create('p', sourceOf(makeEntries(100, { tag: 'x' }), 40), { writer })
    assert.equal(older.published, false)
    assert.equal(older.snapshotId, newer.snapshotId)
    assert.equal(older.lsn, 50)
    const same = await repo.create('p', sourceOf(makeEntries(100, { tag: 'y' }), 50), { writer })
    assert.equal(same.published, false)
    assert.equal((await repo.latest('p'))!.snapshots[0]!.snapshotId, newer.snapshotId)
    assert.equal((await keysUnder(store, 'partitions/p/snapshots/')).length, 1)
  })

  test('keep-N: the pointer lists the newest N, archivedLsn is the oldest, evicted manifests go', async () => {
    const store = new MemoryObjectStore()
    const repo = await SnapshotRepository.open(store, { keep: 2 })
    for (const lsn of [10, 20, 30, 40]) await repo.create('p', sourceOf(makeEntries(50, { tag: `t${lsn}` }), lsn), { writer })
    const latest = (await repo.latest('p'))!
    assert.deepEqual(latest.snapshots.map((s) => s.lsn), [40, 30])
    assert.equal(latest.archivedLsn, 30)
    assert.deepEqual((await repo.list('p')).map((s) => s.lsn), [40, 30])
    assert.deepEqual(
      (await keysUnder(store, 'partitions/p/snapshots/')).sort(),
      latest.snapshots.map((s) => s.manifestKey).sort(),
    )
    const pruned = await repo.prune('p', { keep: 1 })
    assert.deepEqual(pruned.kept.map((s) => s.lsn), [40])
    assert.equal((await repo.latest('p'))!.archivedLsn, 40)
    assert.deepEqual(await repo.partitions(), ['p'])
  })

  test('fencing: another store gets REPOSITORY_FENCED and publishes nothing; take-over fences the first', async () => {
    const store = new MemoryObjectStore()
    const repo = await SnapshotRepository.open(store)
    const a = await repo.create('p', sourceOf(makeEntries(10), 1), { writer: { storeId: 'a' } })
    assert.equal(a.epoch, 1)
    await assert.rejects(repo.create('p', sourceOf(makeEntries(10), 2), { writer: { storeId: 'b' } }), (e: unknown) => {
      assert.ok(isCode('REPOSITORY_FENCED')(e))
      assert.match((e as Error).message, /--take-over/)
      return true
    })
    assert.equal((await repo.latest('p'))!.snapshots[0]!.lsn, 1)
    const b = await repo.create('p', sourceOf(makeEntries(10), 3), { writer: { storeId: 'b' }, takeOver: true })
    assert.equal(b.published, true)
    assert.equal(b.epoch, 2)
    assert.deepEqual((await repo.latest('p'))!.writer, { storeId: 'b', epoch: 2 })
    await assert.rejects(repo.create('p', sourceOf(makeEntries(10), 4), { writer: { storeId: 'a', epoch: 1 } }), isCode('REPOSITORY_FENCED'))
    // The same store with a stale epoch (it was fenced, then someone took over back) is fenced too.
    await repo.create('p', sourceOf(makeEntries(10), 5), { writer: { storeId: 'a', epoch: 1 }, takeOver: true })
    await assert.rejects(repo.create('p', sourceOf(makeEntries(10), 6), { writer: { storeId: 'b', epoch: 2 } }), isCode('REPOSITORY_FENCED'))
    assert.equal((await keysUnder(store, 'partitions/p/snapshots/')).length, 3)
  })

  test('latest costs exactly one GET and nothing else', async () => {
    const inner = new MemoryObjectStore()
    const seeded = await SnapshotRepository.open(inner)
    await seeded.create('p', sourceOf(makeEntries(1000), 9), { writer })
    const { store, counts } = counting(inner)
    const repo = await SnapshotRepository.open(store)
    const latest = await repo.latest('p')
    assert.equal(latest!.snapshots[0]!.lsn, 9)
    assert.deepEqual(counts, { get: 1, put: 0, head: 0, list: 0, delete: 0 })
  })

  test('open of a partition without snapshots is SNAPSHOT_NOT_FOUND, never an empty stream', async () => {
    const repo = await SnapshotRepository.open(new MemoryObjectStore())
    await assert.rejects(repo.open('none'), isCode('SNAPSHOT_NOT_FOUND'))
    assert.equal(await repo.latest('none'), undefined)
    assert.deepEqual(await repo.list('none'), [])
  })

  test('a snapshot of no entries round-trips as no chunks', async () => {
    const repo = await SnapshotRepository.open(new MemoryObjectStore())
    const r = await repo.create('empty', sourceOf([], 3), { writer })
    assert.equal(r.chunksTotal, 0)
    assert.deepEqual(await collect((await repo.open('empty')).entries()), [])
  })
})
