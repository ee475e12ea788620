/**
 * A fault at every I/O of a restore, k = 1..N, once or from then on: the error surfaces as a
 * CairnError, the checkpoint is unchanged (still verifies), the target is absent or a whole
 * store, and a retry succeeds and leaves no temp directory.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkpoint, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { contentsOf } from './checkpoint-helpers.js'

test('a fault at every operation of a restore', async () => {
  const mem = new MemoryFileSystem({ seed: 12 })
  const fs = new FaultFileSystem(mem)
  const store = await Store.open('/data', { fs: mem, segmentBytesMax: 4096, memtableBytesMax: 1024 * 1024 })
  const p = await store.ensurePartition('a')
  for (let i = 0; i < 60; i++) await p.put(`k${i % 30}`, `v${i}`)
  await p.flush()
  for (let i = 0; i < 60; i++) await p.put(`k${i % 30}`, `w${i} ${'z'.repeat(60)}`)
  const expected = await contentsOf(p)
  await checkpoint(store, '/cp')
  await store.close()
  const restoredContents = async (): Promise<Record<string, string>> => {
    const s = await Store.open('/restored', { fs: mem, create: false })
    try {
      return await contentsOf(await s.partition('a'))
    } finally {
      await s.close()
    }
  }
  let faulted = 0
  for (let k = 1; ; k++) {
    const persistent = k % 2 === 0
    fs.failAt(fs.count + k, { persistent })
    let failure: unknown
    try {
      await restoreCheckpoint('/cp', '/restored', { fs })
    } catch (e) {
      failure = e
    }
    fs.heal()
    const context = `fault at operation ${k}${persistent ? ' and after' : ''}`
    assert.deepEqual((await verifyCheckpoint('/cp', { fs: mem })).problems, [], `${context}: the checkpoint is unchanged`)
    if (failure === undefined) {
      assert.deepEqual(await restoredContents(), expected)
      break
    }
    faulted++
    assert.ok(failure instanceof CairnError, `${context}: a CairnError surfaces (${String(failure)})`)
    if ((await mem.stat('/restored')) !== undefined) {
      assert.deepEqual(await restoredContents(), expected, `${context}: a target that exists is whole`)
      await mem.removeTree('/restored')
    }
    await restoreCheckpoint('/cp', '/restored', { fs: mem })
    assert.deepEqual(await restoredContents(), expected, `${context}: the retry restores`)
    assert.deepEqual((await mem.list('/')).filter((n) => n.includes('restored')), ['restored'], `${context}: no temp directory is left`)
    await mem.removeTree('/restored')
  }
  assert.ok(faulted > 30, `a restore makes many operations (${faulted})`)
})
