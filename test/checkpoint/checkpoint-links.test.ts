/**
 * Hard-link safety (real file system): after a checkpoint, heavy compaction, deletes, rolls and
 * trims on the source, and the same on a store restored from it, leave the checkpoint verifying
 * and restoring to the same contents. Where links cannot be made (EXDEV), everything is copied,
 * with progress. With `linkFrom`, a copy identical to an earlier checkpoint's file is linked.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { type CheckpointProgress, checkpoint, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { FaultFileSystem, type FileSystem, MemoryFileSystem, type Operation } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { contentsOf } from './checkpoint-helpers.js'

const ids = ['a', 'b']

async function churn(store: Store, p: Partition, round: number): Promise<void> {
  for (let i = 0; i < 200; i++) await p.write({ ops: [{ type: 'put', key: `k${i % 80}`, value: `churn ${round} ${i} ${'y'.repeat(30)}` }] })
  await p.deleteRange('k', 'k5')
  await p.flush()
  await store.rollPartitionLog(p.id)
  await p.write({ ops: [{ type: 'delete', key: 'k70' }] })
  await p.compact()
  await p.trim(p.lastLsn + 1)
}

async function contentsIn(dir: string, fs?: FileSystem): Promise<Record<string, Record<string, string>>> {
  const store = await Store.open(dir, { create: false, ...(fs !== undefined && { fs }) })
  try {
    const out: Record<string, Record<string, string>> = {}
    for (const id of store.partitions()) out[id] = await contentsOf(await store.partition(id))
    return out
  } finally {
    await store.close()
  }
}

describe('checkpoint links', () => {
  test('compaction, deletes and trims on the source and on a restored store leave the checkpoint as it was', async () => {
    const base = await mkdtemp(join(tmpdir(), 'cairn-checkpoint-links-'))
    try {
      const options = { segmentBytesMax: 8192, memtableBytesMax: 1024 * 1024 }
      const store = await Store.open(join(base, 'data'), options)
      const expected: Record<string, Record<string, string>> = {}
      for (const id of ids) {
        const p = await store.ensurePartition(id)
        for (let i = 0; i < 300; i++) await p.write({ ops: [{ type: 'put', key: `k${i % 100}`, value: `v${i} ${'x'.repeat(40)}` }] })
        await p.flush()
        for (let i = 0; i < 150; i++) await p.write({ ops: [{ type: 'put', key: `k${i}`, value: `late ${i}` }] })
        expected[id] = await contentsOf(p)
      }
      const cp = await checkpoint(store, join(base, 'cp'))
      assert.ok(cp.linkedFiles >= 4, `tables and sealed segments are linked (${cp.linkedFiles})`)
      for (let round = 0; round < 3; round++) for (const id of ids) await churn(store, await store.partition(id), round)
      await store.close()
      assert.deepEqual((await verifyCheckpoint(cp.path)).problems, [])
      await restoreCheckpoint(cp.path, join(base, 'r1'))
      assert.deepEqual(await contentsIn(join(base, 'r1')), expected)
      // The restored store links the checkpoint's tables: its own compactions unlink, never change them.
      const restored = await Store.open(join(base, 'r1'), options)
      for (let round = 0; round < 3; round++) for (const id of ids) await churn(restored, await restored.partition(id), round)
      await restored.close()
      assert.deepEqual((await verifyCheckpoint(cp.path)).problems, [])
      await restoreCheckpoint(cp.path, join(base, 'r2'))
      assert.deepEqual(await contentsIn(join(base, 'r2')), expected)
    } finally {
      await rm(base, { recursive: true, force: true })
    }
  })

  test('across devices (EXDEV) every file is copied, with progress', async () => {
    const mem = new MemoryFileSystem({ seed: 9 })
    // Every call goes to `mem`, except a link other than the store lock's, which fails as across devices.
    const fs = new Proxy(mem, {
      get(target, name) {
        if (name === 'link') {
          return async (from: string, to: string): Promise<void> => {
            if (to.endsWith('/LOCK') || to.includes('/LOCK.')) return await mem.link(from, to)
            throw Object.assign(new Error(`EXDEV: cross-device link ${to}`), { code: 'EXDEV' })
          }
        }
        const value = Reflect.get(target, name, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    }) as FileSystem
    const store = await Store.open('/data', { fs, segmentBytesMax: 4096 })
    const p = await store.ensurePartition('a')
    for (let i = 0; i < 200; i++) await p.put(`k${i % 50}`, `v${i}`)
    await p.flush()
    for (let i = 0; i < 100; i++) await p.put(`k${i % 50}`, `w${i}`)
    const expected = await contentsOf(p)
    const progress: CheckpointProgress[] = []
    const cp = await checkpoint(store, '/cp', { onProgress: (e) => progress.push(e) })
    await store.close()
    assert.equal(cp.linkedFiles, 0)
    assert.ok(cp.copiedFiles >= 3, `tables and segments are copied (${cp.copiedFiles})`)
    const last = progress.filter((e) => e.phase === 'files').at(-1)!
    assert.equal(last.filesDone, last.filesTotal)
    assert.equal(last.bytesDone, last.bytesTotal)
    assert.ok(progress.some((e) => e.bytesDone > 0 && e.bytesDone < e.bytesTotal), 'progress is reported along the way')
    assert.deepEqual((await verifyCheckpoint('/cp', { fs })).problems, [])
    await restoreCheckpoint('/cp', '/restored', { fs })
    assert.deepEqual((await contentsIn('/restored', fs)).a, expected)
  })

  test('linkFrom: an active segment identical to an earlier checkpoint is linked, not copied again', async () => {
    const fs = new MemoryFileSystem({ seed: 10 })
    const store = await Store.open('/data', { fs })
    for (const id of ids) await (await store.ensurePartition(id)).put('k', 'v')
    const first = await checkpoint(store, '/backups/1')
    assert.equal(first.copiedFiles, 2)
    const second = await checkpoint(store, '/backups/2', { linkFrom: ['/backups/1', '/backups/missing'] })
    assert.equal(second.copiedFiles, 0, 'nothing changed: the active segments are linked from the first')
    await (await store.partition('a')).put('k2', 'v2')
    const third = await checkpoint(store, '/backups/3', { linkFrom: ['/backups/1', '/backups/2'] })
    assert.equal(third.copiedFiles, 1, 'the segment that changed is copied')
    await store.close()
    for (const n of [1, 2, 3]) assert.deepEqual((await verifyCheckpoint(`/backups/${n}`, { fs })).problems, [])
  })

  test('linkFrom: a table an earlier checkpoint holds as the very same file is not read again, even by another process', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem({ seed: 13 }))
    const fill = await Store.open('/data', { fs })
    const p = await fill.ensurePartition('p')
    for (let i = 0; i < 500; i++) await p.put(`k${i}`, `v${i} ${'x'.repeat(50)}`)
    await p.flush()
    await checkpoint(fill, '/backups/1')
    await fill.close()
    /** Reads of table files during a checkpoint by a store opened afresh (no digest remembered). */
    const tableReads = async (to: string, linkFrom?: string[]): Promise<number> => {
      const store = await Store.open('/data', { fs })
      await store.partition('p')
      fs.trace = []
      await checkpoint(store, to, linkFrom === undefined ? {} : { linkFrom })
      const reads = fs.trace.filter((op: Operation) => op.name === 'read' && op.path.endsWith('.sst')).length
      fs.trace = undefined
      await store.close()
      return reads
    }
    assert.ok((await tableReads('/backups/2')) > 0, 'without linkFrom, the tables are read for their digests')
    assert.equal(await tableReads('/backups/3', ['/backups/1']), 0, 'with linkFrom, their digests are the earlier checkpoint')
    for (const n of [1, 2, 3]) assert.deepEqual((await verifyCheckpoint(`/backups/${n}`, { fs })).problems, [])
  })
})
