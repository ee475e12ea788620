/**
 * Point reads beyond the block cache: a block that is not cached is read with the file system's
 * blocking read (no thread-pool round trip) while the sync-read budget allows, faults still
 * apply to it, and a slow blocking read sends lookups to the async path for a while.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FaultFileSystem, type FileHandle, type FileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { BlockCache, LsmTree } from '../../src/state/index.js'
import { noteSyncRead, syncReadAllowed, syncReadBackoffMs, syncReadSlowInARowMax } from '../../src/state/table/sync-read-budget.js'

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
})
