/**
 * A fault at every I/O of a checkpoint, k = 1..N, once or from then on: the error surfaces as a
 * CairnError, the source is unchanged, the target is absent or a whole checkpoint, the pins are
 * released (no trim hold, the partitions idle), and a retry (after healing) succeeds and cleans
 * the temp directory a failure left. Then power loss right after a checkpoint resolves: the
 * checkpoint survives whole (everything was fsynced, the rename's directory included).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { checkpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { listTree } from '../../src/checkpoint/checkpoint-files.js'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, Store, type StoreOptions } from '../../src/partition/index.js'

const options: StoreOptions = { segmentBytesMax: 4096, memtableBytesMax: 4096 }

async function filled(): Promise<{ mem: MemoryFileSystem; fs: FaultFileSystem }> {
  const mem = new MemoryFileSystem({ seed: 11 })
  const fs = new FaultFileSystem(mem)
  const store = await Store.open('/data', { fs, ...options })
  for (const id of ['a', 'b']) {
    const p = await store.ensurePartition(id)
    for (let i = 0; i < 200; i++) await p.put(`k${i % 50}`, `v${i}`)
    await p.flush()
    for (let i = 0; i < 30; i++) await p.put(`k${i}`, `unflushed ${i}`)
  }
  await store.close()
  return { mem, fs }
}

/** Every file under `root` with its contents' digest. */
async function filesOf(mem: MemoryFileSystem, root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const path of (await listTree(mem, root)).files) out[path] = createHash('sha256').update(await mem.readFile(`${root}/${path}`)).digest('hex')
  return out
}

/** Fails operation `k` of a checkpoint of the open `store` and checks the outcome; false once k is past the last operation. */
async function faultAt(mem: MemoryFileSystem, fs: FaultFileSystem, store: Store, partitions: Partition[], k: number, persistent: boolean): Promise<boolean> {
  const source = await filesOf(mem, '/data')
  fs.failAt(fs.count + k, { persistent })
  let failure: unknown
  try {
    await checkpoint(store, '/backups/cp')
  } catch (e) {
    failure = e
  }
  fs.heal()
  const context = `fault at operation ${k}${persistent ? ' and after' : ''}`
  if (failure !== undefined) assert.ok(failure instanceof CairnError, `${context}: a CairnError surfaces (${String(failure)})`)
  assert.deepEqual(await filesOf(mem, '/data'), source, `${context}: the source is unchanged`)
  for (const p of partitions) {
    assert.deepEqual(p.info().trimHolds, [], `${context}: no trim hold is left`)
    assert.equal(p.idle, true, `${context}: nothing pins ${p.id}`)
  }
  const target = await mem.stat('/backups/cp')
  if (target !== undefined) assert.equal((await verifyCheckpoint('/backups/cp', { fs: mem })).ok, true, `${context}: a target that exists is whole`)
  if (failure === undefined) {
    await mem.removeTree('/backups/cp')
    return false
  }
  // The retry cleans what the failure left and succeeds.
  await mem.removeTree('/backups/cp')
  const cp = await checkpoint(store, '/backups/cp')
  assert.equal((await verifyCheckpoint(cp.path, { fs: mem })).ok, true, `${context}: the retry verifies`)
  assert.deepEqual(await mem.list('/backups'), ['cp'], `${context}: the retry left no temp directory`)
  await mem.removeTree('/backups/cp')
  return true
}

describe('checkpoint faults', () => {
  test('a fault at every operation of a checkpoint (store open, digests known)', async () => {
    const { mem, fs } = await filled()
    const store = await Store.open('/data', { fs, ...options })
    const partitions = [await store.partition('a'), await store.partition('b')]
    await checkpoint(store, '/backups/warm')
    await mem.removeTree('/backups/warm')
    let faulted = 0
    for (let k = 1; await faultAt(mem, fs, store, partitions, k, k % 2 === 0); k++) faulted++
    assert.ok(faulted > 40, `a checkpoint makes many operations (${faulted})`)
    await store.close()
  })

  test('a fault at every 5th operation of a first checkpoint (partitions closed, digests unknown)', async () => {
    const { mem, fs } = await filled()
    for (let k = 1; ; k += 5) {
      const store = await Store.open('/data', { fs, ...options })
      const partitions: Partition[] = []
      const done = await faultAt(mem, fs, store, partitions, k, k % 2 === 0)
      await store.close()
      if (!done) break
    }
  })

  test('power loss right after a checkpoint resolves leaves it whole', async () => {
    for (const seed of [1, 2, 3]) {
      const { mem, fs } = await filled()
      const store = await Store.open('/data', { fs, ...options, durability: 'none' })
      const p = await store.partition('a')
      for (let i = 0; i < 40; i++) await p.put(`late${i}`, 'unsynced in the source')
      const cp = await checkpoint(store, '/backups/cp')
      mem.powerLoss({ keep: seed === 1 ? 'synced-only' : undefined })
      const verified = await verifyCheckpoint('/backups/cp', { fs: mem })
      assert.deepEqual(verified.problems, [], `seed ${seed}`)
      assert.deepEqual(verified.partitions, cp.partitions)
    }
  })
})
