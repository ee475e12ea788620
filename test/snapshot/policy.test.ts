/**
 * SnapshotPolicy: a snapshot when records, log bytes or time since the last pass their
 * thresholds (exactly one per partition, none while one is in flight), then trimming to the
 * archived LSN (after the trim delay); failures recorded in status, never thrown; stop() ends it.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ObjectStore } from '../../src/objectstore/index.js'
import { type SnapshotEvent, SnapshotManager, SnapshotPolicy } from '../../src/snapshot/index.js'
import { CountingObjectStore, MemoryFileSystem, openStore, repositoryOver, writeRecords } from '../helpers/snapshot-store-helpers.js'

const manifestPuts = (objects: CountingObjectStore) => objects.keys.filter((k) => k.startsWith('put ') && k.includes('/snapshots/')).length

describe('SnapshotPolicy', () => {
  test('records threshold: nothing below it, exactly one snapshot past it, then the log trimmed', async () => {
    const objects = new CountingObjectStore()
    const store = await openStore(new MemoryFileSystem())
    const events: SnapshotEvent[] = []
    const manager = SnapshotManager.attach(store, await repositoryOver(objects), { onEvent: (e) => events.push(e) })
    const policy = new SnapshotPolicy(manager, { recordsMin: 100, bytesMin: Number.MAX_SAFE_INTEGER })
    const p = await store.createPartition('p')
    const q = await store.createPartition('q')
    await writeRecords(p, 1, 99, 20)
    await writeRecords(q, 1, 10, 20)
    await policy.check()
    assert.equal(manifestPuts(objects), 0)
    await writeRecords(p, 100, 300, 20)
    await Promise.all([policy.check(), policy.check()])
    assert.equal(manifestPuts(objects), 1, 'exactly one snapshot')
    assert.equal(manager.lastSnapshot('p')?.lsn, 300)
    assert.equal(manager.lastSnapshot('q'), undefined)
    assert.ok(p.firstLsn > 1, `the log was trimmed after the snapshot (first LSN ${p.firstLsn})`)
    assert.ok(p.firstLsn <= 301)
    assert.deepEqual(
      events.map((e) => e.kind),
      ['snapshot', 'trim'],
    )
    await policy.check()
    assert.equal(manifestPuts(objects), 1, 'nothing new, nothing made')
    await policy.stop()
    await manager.close()
    await store.close()
  })

  test('no second snapshot while one is in flight', async () => {
    const inner = new CountingObjectStore()
    let release: (() => void) | undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow: ObjectStore = {
      url: inner.url,
      get: (k, o) => inner.get(k, o),
      head: (k) => inner.head(k),
      list: (k, o) => inner.list(k, o),
      delete: (k) => inner.delete(k),
      close: () => inner.close(),
      put: async (k, b, o) => {
        await gate
        return await inner.put(k, b, o)
      },
    }
    const store = await openStore(new MemoryFileSystem())
    const manager = SnapshotManager.attach(store, await repositoryOver(slow))
    const policy = new SnapshotPolicy(manager, { recordsMin: 10 })
    await writeRecords(await store.createPartition('p'), 1, 50, 10)
    const manual = manager.createSnapshot('p')
    await policy.check()
    release!()
    await manual
    await policy.check()
    assert.equal(manifestPuts(inner), 1)
    await policy.stop()
    await manager.close()
    await store.close()
  })

  test('bytes threshold and maximum interval', async () => {
    const objects = new CountingObjectStore()
    const store = await openStore(new MemoryFileSystem())
    let now = 1_000_000
    const manager = SnapshotManager.attach(store, await repositoryOver(objects), { now: () => now })
    const policy = new SnapshotPolicy(manager, { recordsMin: Number.MAX_SAFE_INTEGER, bytesMin: 8000, intervalMsMax: 60_000, trim: false })
    const p = await store.createPartition('p')
    await writeRecords(p, 1, 40, 10) // about 40 * 90 bytes: under 8000
    await policy.check()
    assert.equal(manifestPuts(objects), 0)
    await writeRecords(p, 41, 120, 10)
    await policy.check()
    assert.equal(manager.lastSnapshot('p')?.lsn, 120, 'the bytes threshold')
    await writeRecords(p, 121, 122, 10)
    await policy.check()
    assert.equal(manifestPuts(objects), 1)
    now += 60_000
    await policy.check()
    assert.equal(manager.lastSnapshot('p')?.lsn, 122, 'the interval')
    now += 120_000
    await policy.check()
    assert.equal(manifestPuts(objects), 2, 'the interval alone makes nothing when nothing is new')
    await policy.stop()
    await manager.close()
    await store.close()
  })

  test('the trim delay holds the trim until the archived LSN is old enough', async () => {
    const store = await openStore(new MemoryFileSystem())
    const manager = SnapshotManager.attach(store, await repositoryOver(new CountingObjectStore()))
    let now = 0
    const policy = new SnapshotPolicy(manager, { recordsMin: 100, trimDelayMs: 10_000, now: () => now })
    const p = await store.createPartition('p')
    await writeRecords(p, 1, 300, 20)
    await policy.check()
    assert.equal(manager.lastSnapshot('p')?.lsn, 300)
    assert.equal(p.firstLsn, 1, 'not yet')
    now += 10_000
    await policy.check()
    assert.ok(p.firstLsn > 1, 'trimmed once the delay passed')
    await policy.stop()
    await manager.close()
    await store.close()
  })

  test('failures are recorded in status and told, never thrown; the timer runs unref’d until stop()', async () => {
    const objects = new CountingObjectStore()
    const store = await openStore(new MemoryFileSystem())
    const events: SnapshotEvent[] = []
    const manager = SnapshotManager.attach(store, await repositoryOver(objects), { onEvent: (e) => events.push(e) })
    const policy = new SnapshotPolicy(manager, { recordsMin: 10, checkMs: 5 })
    await writeRecords(await store.createPartition('p'), 1, 50, 10)
    objects.failing = (op) => op === 'put'
    await policy.check()
    const status = manager.status().find((s) => s.partition === 'p')!
    assert.equal(status.lastError?.code, 'OBJECT_STORE_ERROR')
    assert.equal(status.lastError?.what, 'snapshot')
    assert.equal(events.at(-1)?.kind, 'error')
    objects.failing = undefined
    policy.start()
    // The timer's own check makes the snapshot (waited for by condition, not by time).
    while (manager.lastSnapshot('p') === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
    await policy.stop()
    const made = manifestPuts(objects)
    await writeRecords(await store.partition('p'), 51, 200, 10)
    await policy.check()
    assert.equal(manifestPuts(objects), made, 'nothing after stop()')
    assert.equal(manager.status().find((s) => s.partition === 'p')?.lastError, undefined, 'cleared by the success')
    await manager.close()
    await store.close()
  })

  test('a fenced partition is not retried by the policy (one error, not one per check) until a take-over succeeds', async () => {
    const objects = new CountingObjectStore()
    const owner = await openStore(new MemoryFileSystem())
    const ownerManager = SnapshotManager.attach(owner, await repositoryOver(objects))
    await writeRecords(await owner.createPartition('p'), 1, 20, 5)
    await ownerManager.createSnapshot('p')
    const store = await openStore(new MemoryFileSystem())
    const events: SnapshotEvent[] = []
    const manager = SnapshotManager.attach(store, await repositoryOver(objects), { onEvent: (e) => events.push(e), recover: false })
    const policy = new SnapshotPolicy(manager, { recordsMin: 10 })
    const p = await store.createPartition('p')
    await writeRecords(p, 1, 50, 5)
    await policy.check()
    await policy.check()
    await policy.check()
    assert.deepEqual(
      events.map((e) => (e.kind === 'error' ? (e.error as { code?: string }).code : e.kind)),
      ['REPOSITORY_FENCED'],
    )
    assert.equal(manager.status().find((s) => s.partition === 'p')?.lastError?.code, 'REPOSITORY_FENCED')
    const taken = await manager.createSnapshot('p', { takeOver: true })
    assert.equal(taken.published, true)
    assert.equal(manager.status().find((s) => s.partition === 'p')?.lastError, undefined, 'the take-over cleared it')
    await writeRecords(p, 51, 80, 5)
    await policy.check()
    assert.equal(manager.lastSnapshot('p')?.lsn, 80, 'the policy resumed')
    await policy.stop()
    await manager.close()
    await store.close()
    await ownerManager.close()
    await owner.close()
  })
})
