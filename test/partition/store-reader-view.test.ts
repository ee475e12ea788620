/**
 * StoreReader.openPartition and info(): a read-only view of a store another owner holds. The
 * owner here is a Store in the same process (the OS lock is per open file description, and the
 * reader takes none), over the real file system.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { NodeFileSystem } from '../../src/io/node-file-system.js'
import type { FileSystem } from '../../src/io/file-system.js'
import { readOnlyPartitionAttemptsMax, Store, StoreReader } from '../../src/partition/index.js'
import { withTempDir } from '../helpers/temp-dir.js'

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

/** Operations that change the file system (or make changes durable): a reader makes none. */
const changing = new Set(['rename', 'link', 'unlink', 'mkdir', 'removeTree', 'syncDir', 'lockExclusive'])

/**
 * The real file system, with every call seen by `onCall` first (awaited: a test can act in the
 * middle of a read-only open) and every changing call recorded.
 */
function observedFs(onCall: (name: string, path: string) => Promise<void> | void = () => undefined): { fs: FileSystem; changes: string[]; calls: string[] } {
  const inner = new NodeFileSystem()
  const changes: string[] = []
  const calls: string[] = []
  const fs = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        const path = String(args[0])
        calls.push(`${String(name)} ${path}`)
        if (changing.has(String(name)) || (name === 'open' && args[1] !== 'read')) changes.push(`${String(name)} ${path}`)
        await onCall(String(name), path)
        return await (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { fs, changes, calls }
}

async function scanAll(view: { scan(): AsyncIterableIterator<[Uint8Array, Uint8Array]> }): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of view.scan()) out.push(`${text(k)}=${text(v)}`)
  return out
}

describe('StoreReader.openPartition: a read-only view beside the owner', () => {
  test('shows the tables plus the log replayed in memory, and writes nothing', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir, { memtableBytesMax: 4096, segmentBytesMax: 4096 })
      try {
        const p = await store.ensurePartition('orders')
        for (let i = 0; i < 50; i++) await p.put(`k${String(i).padStart(3, '0')}`, `flushed-${i}`)
        await p.flush()
        await p.delete('k000')
        await p.deleteRange('k010', 'k020')
        await p.put('k001', 'in-the-log')
        await p.append(['a payload'])
        const { fs, changes } = observedFs()
        const reader = await StoreReader.open(dir, { fs })
        try {
          const view = await reader.openPartition('orders')
          assert.equal(await text(await view.get('k001')), 'in-the-log')
          assert.equal(await view.get('k000'), undefined)
          assert.equal(await view.get('k015'), undefined)
          assert.equal(text(await view.get('k049')), 'flushed-49')
          const expected: string[] = []
          for await (const [k, v] of p.scan()) expected.push(`${text(k)}=${text(v)}`)
          assert.deepEqual(await scanAll(view), expected)
          assert.equal(expected.length, 50 - 1 - 10)
          const info = view.info()
          const own = p.info()
          assert.equal(info.readOnly, true)
          assert.equal(info.appliedLsn, own.lastLsn)
          assert.equal(info.lastLsn, own.lastLsn)
          assert.equal(info.durableLsn, own.durableLsn)
          assert.ok(info.durableLsn < info.appliedLsn, 'part of the view came from the log')
          assert.equal(info.logId, own.logId)
          assert.ok(info.asOfMs <= Date.now())
          await view.close()
          await assert.rejects(view.get('k001'), isCode('CLOSED'))
          assert.throws(() => view.scan(), isCode('CLOSED'))
        } finally {
          await reader.close()
        }
        assert.deepEqual(changes, [])
      } finally {
        await store.close()
      }
    })
  })

  test('a view keeps its moment while the owner writes, flushes and compacts its files away', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir, { memtableBytesMax: 2048, segmentBytesMax: 4096 })
      const reader = await StoreReader.open(dir)
      try {
        const p = await store.ensurePartition('p')
        for (let i = 0; i < 40; i++) await p.put(`k${i}`, `old-${i}`)
        await p.flush()
        await p.put('k0', 'old-in-log')
        const view = await reader.openPartition('p')
        const before = await scanAll(view)
        for (let round = 0; round < 5; round++) {
          for (let i = 0; i < 40; i++) await p.put(`k${i}`, `new-${round}-${i}`)
          await p.compact()
          await p.trim(p.trimFloor)
        }
        assert.equal(text(await view.get('k0')), 'old-in-log')
        assert.equal(text(await view.get('k7')), 'old-7')
        assert.deepEqual(await scanAll(view), before)
        const fresh = await reader.openPartition('p')
        assert.equal(text(await fresh.get('k7')), 'new-4-7')
        assert.equal(fresh.info().appliedLsn, p.lastLsn)
        // close() of the reader closes the views still open.
      } finally {
        await reader.close()
        await store.close()
      }
    })
  })

  test('the owner flushes and trims the log between the manifest read and the log read: the open starts again', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir, { segmentBytesMax: 4096 })
      try {
        const p = await store.ensurePartition('p')
        for (let i = 0; i < 100; i++) await p.put(`k${i}`, `v${i}-${'x'.repeat(40)}`)
        let manifestReads = 0
        let interfered = false
        const { fs } = observedFs(async (name, path) => {
          if (name === 'readFile' && path.endsWith('MANIFEST')) manifestReads++
          // Once the state is open (manifest read), before the log is listed: flush and trim.
          if (!interfered && name === 'list' && /\/p\/logs\/[0-9a-f]+$/.test(path)) {
            interfered = true
            for (let i = 100; i < 200; i++) await p.put(`k${i}`, `v${i}-${'x'.repeat(40)}`)
            await p.flush()
            await p.trim(p.trimFloor)
            assert.ok(p.firstLsn > 1, 'the trim removed what the view needs')
          }
        })
        const reader = await StoreReader.open(dir, { fs })
        try {
          const view = await reader.openPartition('p')
          assert.ok(interfered)
          assert.equal(manifestReads, 2, 'a second attempt read the new manifest')
          assert.equal(view.info().appliedLsn, 200)
          assert.equal(text(await view.get('k0')), `v0-${'x'.repeat(40)}`)
          assert.equal(text(await view.get('k199')), `v199-${'x'.repeat(40)}`)
        } finally {
          await reader.close()
        }
      } finally {
        await store.close()
      }
    })
  })

  test('an owner that keeps moving the files away: STORE_BUSY after a bounded number of attempts, saying to retry', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir)
      await (await store.ensurePartition('p')).put('k', 'v')
      await store.close()
      let segmentOpens = 0
      const { fs } = observedFs((name, path) => {
        if (name === 'open' && path.endsWith('.log')) {
          segmentOpens++
          throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' })
        }
      })
      const reader = await StoreReader.open(dir, { fs })
      try {
        await assert.rejects(reader.openPartition('p'), (e: unknown) => isCode('STORE_BUSY')(e) && /retry/.test((e as Error).message))
        assert.equal(segmentOpens, readOnlyPartitionAttemptsMax)
      } finally {
        await reader.close()
      }
    })
  })

  test('unknown and invalid partitions, and a closed reader, are typed errors', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir)
      const reader = await StoreReader.open(dir)
      try {
        await assert.rejects(reader.openPartition('missing'), isCode('PARTITION_NOT_FOUND'))
        await assert.rejects(reader.openPartition('../x'), isCode('INVALID_PARTITION_ID'))
        await store.ensurePartition('p')
        await reader.close()
        // A closed reader opens nothing more (it would hold files no one closes).
        await assert.rejects(reader.openPartition('p'), isCode('CLOSED'))
        await assert.rejects(async () => {
          for await (const _ of reader.read('p')) break
        }, isCode('CLOSED'))
      } finally {
        await reader.close()
        await store.close()
      }
    })
  })
})

describe('StoreReader.info', () => {
  test('lists the store and its partitions from the catalog without opening any partition', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir)
      try {
        for (const id of ['c', 'a', 'b']) await (await store.ensurePartition(id)).put('k', id)
        const { fs, calls, changes } = observedFs()
        const reader = await StoreReader.open(dir, { fs })
        try {
          calls.length = 0
          const before = Date.now()
          const info = await reader.info()
          assert.equal(info.readOnly, true)
          assert.ok(info.asOfMs >= before)
          assert.equal(info.storeId, store.storeId)
          assert.deepEqual(
            info.partitions.map((p) => [p.id, p.logId]),
            ['a', 'b', 'c'].map((id) => [id, store.catalog.partition(id)!.activeLogId]),
          )
          assert.deepEqual(info.lostAndFound, [])
          assert.deepEqual(
            calls.filter((c) => c.includes(join(dir, 'partitions'))),
            [],
            'no call reaches into a partition',
          )
        } finally {
          await reader.close()
        }
        assert.deepEqual(changes, [])
      } finally {
        await store.close()
      }
    })
  })
})
