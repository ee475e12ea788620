/**
 * A trim gap end to end: a log trimmed by the snapshot-driven trim, then the state lost. With
 * the repository attached the partition recovers at open from a snapshot at or past the gap (its
 * state from the snapshot, its log kept and replayed from the snapshot's LSN + 1); without one it
 * is TRIM_GAP with a clear message; a repository whose snapshots are all before the gap leaves it
 * TRIM_GAP.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { type SnapshotEvent, SnapshotManager } from '../../src/snapshot/index.js'
import { CountingObjectStore, MemoryFileSystem, modelAt, openStore, repositoryOver, stateOf, writeRecords } from '../helpers/snapshot-store-helpers.js'

const keys = 30

/** A store whose partition p was snapshotted at 300, trimmed to it, written to 400, then lost its state. */
async function gapped(fs: MemoryFileSystem, objects: CountingObjectStore): Promise<{ firstLsn: number }> {
  const store = await openStore(fs)
  const manager = SnapshotManager.attach(store, await repositoryOver(objects))
  const p = await store.createPartition('p')
  await writeRecords(p, 1, 300, keys)
  await manager.createSnapshot('p')
  const trimmed = await manager.trim('p')
  assert.ok(trimmed !== undefined && trimmed.firstLsn > 1 && trimmed.firstLsn <= 301, `trimmed (${JSON.stringify(trimmed)})`)
  await writeRecords(p, 301, 400, keys)
  await manager.close()
  await store.close()
  await fs.removeTree('/data/partitions/p/state')
  return { firstLsn: trimmed.firstLsn }
}

describe('trim gap, end to end', () => {
  test('with the repository: recovered at open from the snapshot, the kept log replayed after it', async () => {
    const fs = new MemoryFileSystem()
    const objects = new CountingObjectStore()
    const { firstLsn } = await gapped(fs, objects)
    const store = await openStore(fs)
    const events: SnapshotEvent[] = []
    const manager = SnapshotManager.attach(store, await repositoryOver(objects), { onEvent: (e) => events.push(e) })
    const p = await store.partition('p')
    assert.equal(p.firstLsn, firstLsn, 'the log chain kept')
    assert.equal(p.lastLsn, 400)
    assert.deepEqual(await stateOf(p), modelAt(400, keys), 'nothing after the snapshot lost')
    const restore = events.find((e) => e.kind === 'restore')
    assert.ok(restore?.kind === 'restore' && restore.why === 'trim-gap' && restore.result.keptLog && restore.result.lsn === 300)
    await writeRecords(p, 401, 410, keys)
    await manager.close()
    await store.close()
    const again = await openStore(fs)
    assert.deepEqual(await stateOf(await again.partition('p')), modelAt(410, keys))
    await again.close()
  })

  test('without a repository: TRIM_GAP naming the gap and what to do', async () => {
    const fs = new MemoryFileSystem()
    const { firstLsn } = await gapped(fs, new CountingObjectStore())
    const store = await openStore(fs)
    await assert.rejects(store.partition('p'), (e: unknown) => {
      assert.ok(e instanceof CairnError && e.code === 'TRIM_GAP', String(e))
      assert.equal(e.context.firstLsn, firstLsn)
      assert.match(e.message, /needs the log from LSN 1 but the log starts at \d+.*cairn snapshot restore/)
      return true
    })
    await store.close()
  })

  test('a repository whose snapshots are all before the gap leaves it TRIM_GAP', async () => {
    const fs = new MemoryFileSystem()
    const objects = new CountingObjectStore()
    const setup = await openStore(fs)
    const manager = SnapshotManager.attach(setup, await repositoryOver(objects))
    const p = await setup.createPartition('p')
    await writeRecords(p, 1, 50, keys)
    await manager.createSnapshot('p')
    await writeRecords(p, 51, 300, keys)
    await p.flush()
    assert.ok((await p.trim(250)) > 51, 'trimmed by hand past the snapshot')
    await manager.close()
    await setup.close()
    await fs.removeTree('/data/partitions/p/state')
    const store = await openStore(fs)
    const m = SnapshotManager.attach(store, await repositoryOver(objects))
    await assert.rejects(store.partition('p'), (e: unknown) => e instanceof CairnError && e.code === 'TRIM_GAP' && /before the gap/.test(e.message))
    assert.equal(store.hasPartition('p'), true)
    await m.close()
    await store.close()
  })
})
