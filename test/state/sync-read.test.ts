/**
 * Point reads beyond the block cache: a block that is not cached is read with the file system's
 * blocking read (no thread-pool round trip) while the sync-read budget allows, faults still
 * apply to it, and a slow blocking read sends lookups to the async path for a while.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FaultFileSystem, type FileHandle, type FileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { BlockCache, LsmTree } from '../../src/state/index.js'
import { noteSyncRead, resetSyncReadBudget, syncReadAllowed, syncReadBackoffMs, syncReadSlowInARowMax } from '../../src/state/table/sync-read-budget.js'

const b = (s: string): Uint8Array => Buffer.from(s)
const s = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : Buffer.from(u).toString())
const key = (i: number): Uint8Array => b(`k${String(i).padStart(5, '0')}`)

/** A file system that counts the async reads of table files. */
function countingAsyncReads(inner: FileSystem): { fs: FileSystem; asyncReads: () => number } {
  let reads = 0
  const fs = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      if (prop !== 'open') return typeof v === 'function' ? v.bind(target) : v
      return async (path: string, mode: Parameters<FileSystem['open']>[1]): Promise<FileHandle> => {
        const h = await target.open(path, mode)
        if (!path.endsWith('.sst')) return h
        return new Proxy(h, {
          get(t, p, r) {
            const f = Reflect.get(t, p, r)
            if (p === 'read') {
              return (...args: Parameters<FileHandle['read']>) => {
                reads++
                return t.read(...args)
              }
            }
            return typeof f === 'function' ? f.bind(t) : f
          },
        })
      }
    },
  })
  return { fs, asyncReads: () => reads }
}

async function writeTable(fs: FileSystem, dir: string, count: number): Promise<void> {
  const tree = await LsmTree.open({ fs, dir, blockBytes: 256, autoCompact: false })
  for (let i = 0; i < count; i++) tree.apply(i + 1, [{ type: 'put', key: key(i), value: b(`v${i}`) }])
  await tree.flush()
  await tree.close()
}

test('sync read: a point read of a block not in the block cache reads it without an async read', async () => {
  const memory = new MemoryFileSystem()
  await writeTable(memory, '/t', 2000)
  const { fs, asyncReads } = countingAsyncReads(memory)
  const tree = await LsmTree.open({ fs, dir: '/t', blockCache: new BlockCache(1024 * 1024), autoCompact: false })
  try {
    assert.ok(syncReadAllowed(), 'the budget allows blocking reads at the start')
    const before = asyncReads()
    for (let i = 0; i < 2000; i += 97) assert.equal(s(await tree.get(key(i))), `v${i}`)
    assert.equal(await tree.get(b('k99999x')), undefined)
    assert.equal(asyncReads() - before, 0, 'no point read went through the async read')
  } finally {
    await tree.close()
  }
})

test('sync read: a fault injected on a read fails the get (as a rejection), and the next get reads', async () => {
  const memory = new MemoryFileSystem()
  await writeTable(memory, '/f', 2000)
  const fs = new FaultFileSystem(memory)
  const tree = await LsmTree.open({ fs, dir: '/f', blockCache: new BlockCache(1024 * 1024), autoCompact: false })
  try {
    fs.failWhen((op) => op.name === 'read' && op.path.endsWith('.sst'), { once: true })
    const pending = tree.get(key(1234))
    assert.ok(pending instanceof Promise)
    await assert.rejects(pending, /injected fault/)
    assert.equal(s(await tree.get(key(1234))), 'v1234')
  } finally {
    await tree.close()
  }
})

test('sync read: after slow blocking reads in a row, lookups go async for the backoff period', () => {
  const now = performance.now()
  noteSyncRead(now, now + 0.1)
  assert.ok(syncReadAllowed(now + 0.2), 'a fast read keeps the budget')
  for (let i = 1; i < syncReadSlowInARowMax; i++) noteSyncRead(now, now + 50)
  noteSyncRead(now, now + 0.1)
  noteSyncRead(now, now + 50)
  assert.ok(syncReadAllowed(now + 51), 'slow reads with a fast one between keep the budget (a descheduled process, not a cold disk)')
  for (let i = 1; i < syncReadSlowInARowMax; i++) noteSyncRead(now, now + 50)
  assert.equal(syncReadAllowed(now + 51), false, 'slow reads in a row stop blocking reads')
  assert.equal(syncReadAllowed(now + 50 + syncReadBackoffMs - 1), false)
  assert.ok(syncReadAllowed(now + 50 + syncReadBackoffMs), 'and the backoff ends')
  resetSyncReadBudget()
  assert.ok(syncReadAllowed(), 'the reset ends the backoff now')
})

test('sync read: a full cache admits a block on its second miss, and blocks it did not admit never reach it', async () => {
  const cache = new BlockCache(4 * (256 + 96))
  // Room left: admitted at once.
  assert.equal(cache.admits(1, 256), true)
  const memory = new MemoryFileSystem()
  await writeTable(memory, '/a', 2000)
  const tree = await LsmTree.open({ fs: memory, dir: '/a', blockCache: cache, autoCompact: false })
  try {
    // Fill the cache well past its capacity, so every later miss meets a full cache.
    for (let i = 0; i < 1000; i += 7) assert.equal(s(await tree.get(key(i))), `v${i}`)
    assert.ok(cache.bytes <= cache.capacityBytes, 'the cache stays within its bound')
    const hitsBefore = cache.hits
    // A key of a block never read: first miss, not admitted; the next read misses again.
    assert.equal(s(await tree.get(key(1500))), 'v1500')
    assert.equal(s(await tree.get(key(1500))), 'v1500')
    assert.equal(cache.hits, hitsBefore, 'a block missed once is not cached')
    // The second miss admitted it: the third read is a hit.
    assert.equal(s(await tree.get(key(1500))), 'v1500')
    assert.equal(cache.hits, hitsBefore + 1, 'a block missed twice is cached')
  } finally {
    await tree.close()
  }
})

test('sync read: values read through the shared scratch buffer stay intact after later reads', async () => {
  const memory = new MemoryFileSystem()
  await writeTable(memory, '/s', 3000)
  // A cache of a few blocks: once full, most reads go through the scratch buffer, and a block
  // wrongly cached on it would show another block's bytes on its next hit.
  const cache = new BlockCache(8 * (300 + 96))
  const tree = await LsmTree.open({ fs: memory, dir: '/s', blockCache: cache, autoCompact: false })
  try {
    assert.ok(syncReadAllowed(), 'blocking reads are allowed (this test is about their scratch buffer)')
    const kept: Array<[number, Uint8Array | undefined]> = []
    // Each step reads a key, one far away, then the first key's neighbour (same block): with
    // the cache full, the first two go through the scratch buffer, and the third re-reads the
    // first block (a hit, had it been cached on the scratch bytes the second read overwrote).
    for (let i = 0; i < 2990; i += 10) {
      for (const k of [i, (i + 1500) % 3000, i + 1]) kept.push([k, await tree.get(key(k))])
    }
    for (const [i, v] of kept) assert.equal(s(v), `v${i}`, `value of key ${i} after later reads`)
    // Every read again, now that the cache holds blocks admitted on the way.
    for (let i = 0; i < 3000; i++) assert.equal(s(await tree.get(key(i))), `v${i}`)
  } finally {
    await tree.close()
  }
})
