/**
 * The store's memory budget and its bound on open partitions, on the in-memory file system:
 * the memtable sum stays under its bound (the largest is flushed, writes wait), bad options are
 * INVALID_CONFIG, idle partitions are closed least recently used first (never one with a reader
 * open), an old handle fails with CLOSED saying what to do, and reopened partitions hold every
 * write. The budget itself is tested with fake accounts.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { budgetFlushesMax, MemoryBudget } from '../../src/partition/memory-budget.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const mib = 1024 * 1024

describe('MemoryBudget', () => {
  test('flushes the largest account once 7/8 of the bound is reached, at most budgetFlushesMax at once', async () => {
    const budget = new MemoryBudget(800)
    const flushed: string[] = []
    const finish: Array<() => void> = []
    const accounts = ['a', 'b', 'c', 'd'].map((name) => {
      const account = budget.open()
      account.bind(
        () =>
          new Promise<void>((resolve) => {
            flushed.push(name)
            finish.push(() => {
              account.update(0)
              resolve()
            })
          }),
      )
      return account
    })
    accounts[0]!.update(100)
    accounts[1]!.update(300)
    accounts[2]!.update(200)
    assert.deepEqual(flushed, [])
    assert.equal(budget.admit(), undefined)
    accounts[3]!.update(150) // 750 >= 700: flush b (300); 450 left unflushed < 700: no second one
    assert.deepEqual(flushed, ['b'])
    accounts[3]!.update(500) // 1100 - 300 flushing = 800 >= 700: the largest not flushing is d
    assert.deepEqual(flushed, ['b', 'd'])
    accounts[0]!.update(1000)
    assert.equal(flushed.length, budgetFlushesMax, 'never more than budgetFlushesMax at once')
    const wait = budget.admit()
    assert.ok(wait instanceof Promise, 'over the bound, writes wait')
    let admitted = false
    void wait.then(() => {
      admitted = true
    })
    finish.shift()!() // b flushed: a (1000) starts
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(flushed, ['b', 'd', 'a'])
    assert.equal(admitted, false, 'still over the bound (1700)')
    finish.shift()!()
    finish.shift()!()
    await new Promise((r) => setImmediate(r))
    assert.equal(budget.bytes, 200)
    assert.equal(admitted, true)
  })

  test('a failed flush with nothing else running fails waiting writes with IO_ERROR, then recovers', async () => {
    const budget = new MemoryBudget(100)
    const account = budget.open()
    let fail = true
    account.bind(async () => {
      if (fail) throw new Error('disk full')
      account.update(0)
    })
    account.update(150)
    const wait = budget.admit()
    assert.ok(wait instanceof Promise)
    await assert.rejects(wait, isCode('IO_ERROR'))
    fail = false
    // The next write tries again: a flush starts, and the write waits for it rather than failing.
    const again = budget.admit()
    assert.ok(again instanceof Promise)
    await again
    assert.equal(budget.bytes, 0)
    assert.equal(budget.admit(), undefined)
  })

  test('a closed account gives its bytes back', () => {
    const budget = new MemoryBudget(1000)
    const a = budget.open()
    a.update(300)
    const b = budget.open()
    b.update(200)
    a.close()
    assert.equal(budget.bytes, 200)
    a.update(999)
    assert.equal(budget.bytes, 200)
  })
})

describe('Store memory budget and open partitions', () => {
  test('bad bounds are INVALID_CONFIG', async () => {
    const fs = new MemoryFileSystem()
    for (const options of [
      { memoryBytesMax: 0 },
      { memoryBytesMax: 1024 },
      { memoryBytesMax: 1.5 * mib },
      { memoryBytesMax: Number.NaN },
      { openPartitionsMax: 0 },
      { openPartitionsMax: 2.5 },
      { memtableBytesMax: -1 },
    ]) {
      await assert.rejects(Store.open('/data', { fs, ...options }), isCode('INVALID_CONFIG'), JSON.stringify(options))
    }
    const store = await Store.open('/data', { fs, memoryBytesMax: 8 * mib, openPartitionsMax: 3 })
    const info = await store.info()
    assert.equal(info.memoryBytesMax, 8 * mib)
    assert.equal(info.memtableBytesMax, 4 * mib)
    assert.equal(info.blockCacheBytesMax, 4 * mib)
    assert.equal(info.openPartitionsMax, 3)
    await store.close()
  })

  test('many partitions written round-robin: the memtable sum stays under its bound, open partitions under theirs, every write survives', async () => {
    const fs = new MemoryFileSystem()
    const memoryBytesMax = 4 * mib
    const openPartitionsMax = 8
    const store = await Store.open('/data', { fs, memoryBytesMax, openPartitionsMax })
    const value = new Uint8Array(16 * 1024).fill(7)
    const partitions = 40
    const rounds = 12 // 40 x 12 x 16 KiB = 7.5 MiB of values, almost 4x the memtable half
    let maxSum = 0
    let maxOpen = 0
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < partitions; i++) {
        const p = await store.ensurePartition(`p${i}`)
        await p.put(`k${round}`, value)
        maxSum = Math.max(maxSum, store.memtableBytes)
        maxOpen = Math.max(maxOpen, store.openPartitionCount)
      }
    }
    // One write may land past the bound before the next one waits.
    assert.ok(maxSum <= memoryBytesMax / 2 + 64 * 1024, `memtables reached ${maxSum}`)
    assert.ok(maxOpen <= openPartitionsMax, `${maxOpen} partitions open`)
    await store.close()
    const again = await Store.open('/data', { fs, memoryBytesMax, openPartitionsMax })
    for (let i = 0; i < partitions; i++) {
      const p = await again.partition(`p${i}`)
      for (let round = 0; round < rounds; round++) assert.deepEqual(await p.get(`k${round}`), value, `p${i} k${round}`)
    }
    await again.close()
  })

  test('an evicted handle fails with CLOSED saying to ask the store again; a reader keeps its partition open', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    await a.put('k', 'v')
    // More entries than a scan reads ahead: after one `next` it is still open, and 'a' is not idle.
    await a.write({ ops: Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: `z${i}`, value: 'x' })) })
    const scan = a.scan()
    await scan.next()
    const b = await store.ensurePartition('b')
    await b.put('k', 'w')
    assert.equal(await a.getString('k'), 'v', 'a partition with an open scan is not closed')
    await scan.return?.()
    await store.ensurePartition('c') // now 'a' (least recently used, idle) goes
    await assert.rejects(a.put('k2', 'x'), (e: unknown) => isCode('CLOSED')(e) && /store\.partition\("a"\) again/.test((e as Error).message))
    await assert.rejects(a.get('k'), isCode('CLOSED'))
    const again = await store.partition('a')
    assert.notEqual(again, a)
    assert.equal(await again.getString('k'), 'v')
    assert.equal(await store.partition('a'), again, 'the same live object while it is open')
    await store.close()
  })

  test('a partition with a write in flight or an open snapshot is not closed', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    const snap = a.readSnapshot()
    const [b] = await Promise.all([store.ensurePartition('b'), a.put('x', '1')])
    assert.equal(await a.getString('x'), '1')
    await snap.close()
    await b.put('y', '2')
    await store.partition('c').catch(() => undefined)
    await store.ensurePartition('c')
    await new Promise((r) => setImmediate(r))
    await assert.rejects(a.get('x'), isCode('CLOSED'))
    assert.equal(await (await store.partition('a')).getString('x'), '1')
    await store.close()
  })

  test('a partition with a tail open is not closed until the tail ends', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 1 })
    const a = await store.ensurePartition('a')
    await a.append(['one'])
    const abort = new AbortController()
    const seen: number[] = []
    const tail = (async () => {
      try {
        for await (const e of a.tail(1, { signal: abort.signal })) seen.push(e.lsn)
      } catch (e) {
        if (!abort.signal.aborted) throw e
      }
    })()
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 1))
    await store.ensurePartition('b')
    await store.ensurePartition('c')
    await new Promise((r) => setImmediate(r))
    assert.equal(await a.append(['two']), 2, 'a partition with a tail open stays open')
    abort.abort()
    await tail
    await store.ensurePartition('d')
    await new Promise((r) => setImmediate(r))
    await assert.rejects(a.append(['three']), isCode('CLOSED'))
    await store.close()
  })

  test('info() opens nothing and reports closed partitions as they were closed', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 2 })
    for (const id of ['a', 'b', 'c']) await (await store.ensurePartition(id)).append(['1', '2'])
    const info = await store.info()
    assert.equal(info.openPartitions, 2)
    const a = info.partitions.find((p) => p.id === 'a')!
    assert.equal(a.open, false)
    assert.ok('lastLsn' in a && a.lastLsn === 2, JSON.stringify(a))
    assert.equal(store.openPartitionCount, 2)
    await store.close()
  })

  test('concurrent creations: every partition is in the catalog after a reopen', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, openPartitionsMax: 4 })
    const ids = Array.from({ length: 50 }, (_, i) => `c${i}`)
    await Promise.all(ids.map(async (id) => (await store.ensurePartition(id)).put('k', id)))
    await Promise.all(ids.map((id) => assert.rejects(store.createPartition(id), isCode('PARTITION_EXISTS'))))
    await store.close()
    const again = await Store.open('/data', { fs, openPartitionsMax: 4 })
    assert.deepEqual(again.partitions(), [...ids].sort())
    for (const id of ids) assert.equal(await (await again.partition(id)).getString('k'), id)
    await again.close()
  })
})

describe('Store start-up cost does not grow with the partitions', () => {
  test('opening a store syncs no partition directory; a partition directory is synced at its first open', async () => {
    const mem = new MemoryFileSystem()
    const setup = await Store.open('/data', { fs: mem })
    for (let i = 0; i < 20; i++) await setup.createPartition(`p${i}`)
    await setup.close()
    const fs = new FaultFileSystem(mem)
    const synced: string[] = []
    fs.failWhen((op) => {
      if (op.name === 'syncDir') synced.push(op.path)
      return false
    })
    const store = await Store.open('/data', { fs })
    const partitionDirs = () => synced.filter((p) => /^\/data\/partitions\/p\d+$/.test(p))
    assert.deepEqual(partitionDirs(), [])
    await store.info()
    assert.deepEqual(partitionDirs(), [])
    await store.partition('p3')
    assert.ok(partitionDirs().includes('/data/partitions/p3'), JSON.stringify(synced))
    await store.close()
  })
})
