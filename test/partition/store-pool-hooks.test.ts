/**
 * The open-partition bound meets the hooks and the log chains: a trim hold, a pause, a retained
 * state, a tail and a roll each keep their partition open (the pool closes only idle ones); a
 * restore closes the partition through the pool and opens the restored one through it (one live
 * object per id); every partition's tables share the store's one block cache; and `info()`
 * reports unopened partitions of the chain layout (several logs, a restored state) from the
 * catalog and their files.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'

const enc = new TextEncoder()
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const turn = () => new Promise((r) => setImmediate(r))

/** Opens other partitions until the pool (bound 1) had every chance to close `a`. */
async function crowd(store: Store, ids: string[]): Promise<void> {
  for (const id of ids) {
    await store.ensurePartition(id)
    await turn()
  }
}

async function evicted(p: Partition): Promise<boolean> {
  try {
    await p.get('k')
    return false
  } catch (e) {
    if (isCode('CLOSED')(e)) return true
    throw e
  }
}

describe('the pool and the hooks', () => {
  const hooks: Array<[string, (p: Partition) => Promise<() => void | Promise<void>>]> = [
    ['a trim hold', async (p) => p.holdTrim(p.firstLsn, 'test')],
    ['a pause', async (p) => await p.pauseWrites()],
    [
      'a retained state',
      async (p) => {
        const state = await p.retainState()
        return () => state.release()
      },
    ],
    [
      'a tail',
      async (p) => {
        const abort = new AbortController()
        const tail = p.tail(1, { signal: abort.signal })
        await tail.next()
        return async () => {
          abort.abort()
          await tail.return(undefined)
        }
      },
    ],
    ['keepOpen (a roll of its log)', async (p) => p.keepOpen()],
  ]
  for (const [name, take] of hooks) {
    test(`${name} keeps a partition open; once released it may be closed`, async () => {
      const fs = new MemoryFileSystem()
      const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
      const a = await store.ensurePartition('a')
      await a.put('k', 'v')
      const release = await take(a)
      await crowd(store, ['b', 'c'])
      assert.equal(await evicted(a), false, `${name}: the partition stays open`)
      await release()
      await crowd(store, ['d', 'e'])
      assert.equal(await evicted(a), true, `${name}: released, the idle partition is closed`)
      assert.equal(await (await store.partition('a')).getString('k'), 'v')
      await store.close()
    })
  }

  test('a roll of a partition whose store is crowded rolls the open chain, and the reopened partition reads across it', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    await a.append(['1', '2'])
    const [link] = await Promise.all([store.rollPartitionLog('a'), crowd(store, ['b'])])
    assert.equal(link.firstLsn, 3)
    await (await store.partition('a')).append(['3'])
    await crowd(store, ['c', 'd'])
    assert.equal(await evicted(a), true)
    const again = await store.partition('a')
    const lsns: number[] = []
    for await (const e of again.read()) lsns.push(e.lsn)
    assert.deepEqual(lsns, [1, 2, 3])
    assert.equal(store.catalog.partition('a')!.logs.length, 2)
    await store.close()
  })
})

describe('restorePartition through the pool', () => {
  test('closes the open partition through the pool and opens the restored one through it', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 2 })
    const old = await store.ensurePartition('a')
    await old.put('k', 'old')
    await store.ensurePartition('b')
    const restoring = store.restorePartition('a', { lsn: 10, entries: [[enc.encode('k'), enc.encode('new')]] })
    // Asked for while the restore runs: the restored partition, never the old one.
    const asked = store.partition('a')
    const restored = await restoring
    assert.equal(await asked, restored)
    assert.equal(await store.partition('a'), restored, 'one live object per id')
    assert.notEqual(restored, old)
    await assert.rejects(old.get('k'), (e: unknown) => isCode('CLOSED')(e) && /restore/.test((e as Error).message))
    assert.equal(await restored.getString('k'), 'new')
    assert.equal(restored.lastLsn, 10)
    assert.ok(store.openPartitionCount <= 2)
    // The restored partition counts against the bound and is closed like any other.
    await crowd(store, ['c', 'd'])
    assert.equal(await evicted(restored), true)
    assert.equal(await (await store.partition('a')).getString('k'), 'new')
    await store.close()
  })

  test('a partition being closed to make room is restored after that close', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    await a.put('k', 'old')
    // 'b' evicts 'a': the restore waits for that close before it touches a's files.
    const [, restored] = await Promise.all([store.ensurePartition('b'), store.restorePartition('a', { lsn: 3, entries: [[enc.encode('k'), enc.encode('new')]] })])
    assert.equal(await restored.getString('k'), 'new')
    await store.close()
    const again = await Store.open('/data', { fs })
    assert.equal(await (await again.partition('a')).getString('k'), 'new')
    await again.close()
  })
})

describe('shared cache and info over the chain layout', () => {
  test("every partition's tables are read through the store's one block cache", async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, memoryBytesMax: 8 * 1024 * 1024 })
    const parts = [await store.ensurePartition('a'), await store.ensurePartition('b')]
    for (const p of parts) {
      await p.write({ ops: Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 'x'.repeat(100) })) })
      await p.flush()
    }
    const reader = await store.partition('a')
    assert.equal(await reader.getString('k7'), 'x'.repeat(100))
    assert.equal(await (await store.partition('b')).getString('k9'), 'x'.repeat(100))
    const info = await store.info()
    assert.ok(info.blockCacheBytes > 0)
    // One cache: each partition's figures are the whole cache's, and the store's.
    assert.equal(parts[0]!.stateStats().blockCacheBytes, info.blockCacheBytes)
    assert.equal(parts[1]!.stateStats().blockCacheBytes, info.blockCacheBytes)
    assert.equal(info.blockCacheBytesMax, 4 * 1024 * 1024)
    await store.close()
  })

  test('info() of unopened partitions names the active log of the chain and counts every log and restored state', async () => {
    const fs = new MemoryFileSystem()
    const setup = await Store.open('/data', { fs })
    const chained = await setup.ensurePartition('chained')
    await chained.append(['1', '2'])
    await setup.rollPartitionLog('chained')
    await chained.append(['3'])
    await setup.restorePartition('restored', { lsn: 5, entries: [[enc.encode('k'), enc.encode('v')]] })
    await setup.close()
    const store = await Store.open('/data', { fs })
    const info = await store.info()
    assert.equal(info.openPartitions, 0)
    for (const id of ['chained', 'restored']) {
      const p = info.partitions.find((x) => x.id === id)!
      const entry = store.catalog.partition(id)!
      assert.equal(p.open, false)
      assert.equal(p.logId, entry.activeLogId, id)
      assert.ok('fileCount' in p && p.diskBytes > 0, JSON.stringify(p))
    }
    const chainedInfo = info.partitions.find((x) => x.id === 'chained')!
    // Two logs, one segment each at least: both are under the partition's directory.
    assert.ok('fileCount' in chainedInfo && chainedInfo.fileCount >= 2)
    assert.equal(store.catalog.partition('chained')!.logs.length, 2)
    assert.ok(store.catalog.partition('restored')!.stateId !== undefined)
    assert.equal(store.openPartitionCount, 0, 'info opened nothing')
    await store.close()
  })
})
