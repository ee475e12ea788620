/**
 * The fast reopen: a partition this process closed cleanly (to make room under
 * `openPartitionsMax`) is reopened without the recovery fsyncs (`trustedClean`), which guard only
 * against what a previous process left unsynced. A store reopen, or a close that failed, gets
 * the full recovery again; a power loss after a fast reopen and more writes loses nothing
 * acknowledged.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { testSeeds, withSeed } from '../helpers/seed.js'

const turn = () => new Promise((r) => setImmediate(r))

/** Counts the fsyncs (files and directories) under partition `id`'s directory. */
function countSyncs(fs: FaultFileSystem, id: string): { readonly n: number; reset(): void } {
  let n = 0
  const prefix = `/data/partitions/${id}`
  fs.failWhen((op) => {
    if ((op.name === 'sync' || op.name === 'syncDir') && (op.path === prefix || op.path.startsWith(`${prefix}/`))) n++
    return false
  })
  return {
    get n() {
      return n
    },
    reset() {
      n = 0
    },
  }
}

/** Puts `a` in, then closes it by opening `b` (bound 1). */
async function evictA(store: Store): Promise<void> {
  await store.ensurePartition('b')
  await turn()
}

describe('fast reopen of partitions closed cleanly in this process', () => {
  test('no recovery fsync on a reopen after a clean close; the full set after a store reopen', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem())
    const syncs = countSyncs(fs, 'a')
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    await a.put('k', 'v')
    await a.flush()
    await evictA(store)
    syncs.reset()
    const again = await store.partition('a')
    assert.notEqual(again, a, 'reopened')
    assert.equal(syncs.n, 0, 'a reopen after a clean close in this process fsyncs nothing')
    assert.equal(await again.getString('k'), 'v')
    await store.close()

    const reopened = await Store.open('/data', { fs, openPartitionsMax: 1 })
    syncs.reset()
    const fresh = await reopened.partition('a')
    // The partition's directory, its logs/, the log's directory and last segment, the state's manifest, directory and parent.
    assert.ok(syncs.n >= 6, `a first open in a new process runs the full recovery (${syncs.n} fsyncs)`)
    assert.equal(await fresh.getString('k'), 'v')
    await reopened.close()
  })

  test('a close that failed is not trusted: the next open runs the full recovery', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem())
    const syncs = countSyncs(fs, 'a')
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    await a.put('k', 'v')
    // The close's fsync of a's active segment fails once.
    fs.failWhen((op) => op.name === 'sync' && op.path.startsWith('/data/partitions/a/logs/'), { once: true })
    await evictA(store)
    syncs.reset()
    const again = await store.partition('a')
    assert.ok(syncs.n >= 4, `after a failed close, the reopen recovers in full (${syncs.n} fsyncs)`)
    assert.equal(await again.getString('k'), 'v')
    await store.close()
  })

  test('a failed flush is not trusted either', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem())
    const syncs = countSyncs(fs, 'a')
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    await a.put('k', 'v')
    fs.failWhen((op) => op.name === 'syncDir' && op.path === '/data/partitions/a/state', { once: true })
    await assert.rejects(a.flush())
    await evictA(store)
    syncs.reset()
    const again = await store.partition('a')
    assert.ok(syncs.n >= 4, `after a failed flush, the reopen recovers in full (${syncs.n} fsyncs)`)
    assert.equal(await again.getString('k'), 'v')
    await store.close()
  })

  test('power loss after fast reopens and more writes loses nothing acknowledged', async () => {
    for (const seed of testSeeds([1, 2, 3, 4, 5, 6, 7, 8])) {
      await withSeed(seed, async () => {
        const mem = new MemoryFileSystem({ seed })
        const store = await Store.open('/data', { fs: mem, openPartitionsMax: 2 })
        const acked = new Map<string, string>()
        const ids = ['p0', 'p1', 'p2', 'p3', 'p4']
        for (let round = 0; round < 6; round++) {
          for (const id of ids) {
            // Each visit but the first reopens the partition (five partitions, two open): trusted after round 0.
            const p = await store.ensurePartition(id)
            await p.put(`k${round}`, `${id}-${round}`)
            acked.set(`${id}/k${round}`, `${id}-${round}`)
            if (round === 3 && id === 'p1') await p.flush()
          }
        }
        // Power goes: no close, nothing more synced.
        mem.powerLoss()
        const again = await Store.open('/data', { fs: mem })
        for (const [where, value] of acked) {
          const [id, key] = where.split('/') as [string, string]
          assert.equal(await (await again.partition(id)).getString(key), value, where)
        }
        await again.close()
      })
    }
  })
})
