/**
 * A store that ignores conditional writes (as s3rver does) cannot protect latest.json: pointer
 * updates fail with CONDITIONAL_WRITES_UNSUPPORTED before anything is uploaded, unless the user
 * allows unsafe pointer updates. The probe runs once per repository.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { FaultObjectStore, MemoryObjectStore, type ObjectStore, probeKeyPrefix } from '../../src/objectstore/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'
import { keysUnder, makeEntries, sourceOf } from './snapshot-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const writer = { storeId: 's' }

/** Accepts conditions and ignores them. */
function ignoringConditions(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'put') return (key: string, body: Uint8Array) => target.put(key, body)
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

describe('conditional-write probe', () => {
  test('a store ignoring conditions: create and prune fail with CONDITIONAL_WRITES_UNSUPPORTED, having written nothing', async () => {
    const inner = new MemoryObjectStore()
    const repo = await SnapshotRepository.open(ignoringConditions(inner))
    await assert.rejects(repo.create('p', sourceOf(makeEntries(500), 1), { writer }), (e: unknown) => {
      assert.ok(isCode('CONDITIONAL_WRITES_UNSUPPORTED')(e))
      assert.match((e as Error).message, /--allow-unsafe-pointer-updates/)
      return true
    })
    assert.deepEqual(await keysUnder(inner, ''), [])
    // Reads need no probe.
    assert.equal(await repo.latest('p'), undefined)
  })

  test('allowUnsafePointerUpdates: it publishes, without probing', async () => {
    const inner = new FaultObjectStore(new MemoryObjectStore())
    const repo = await SnapshotRepository.open(ignoringConditions(inner), { allowUnsafePointerUpdates: true })
    const r = await repo.create('p', sourceOf(makeEntries(500), 1), { writer })
    assert.equal(r.published, true)
    await repo.create('p', sourceOf(makeEntries(500, { tag: 'x' }), 2), { writer })
    assert.deepEqual((await repo.list('p')).map((s) => s.lsn), [2, 1])
    assert.equal((await keysUnder(inner, probeKeyPrefix)).length, 0)
  })

  test('an enforcing store is probed once per repository, and the probe leaves nothing behind', async () => {
    const store = new FaultObjectStore(new MemoryObjectStore())
    const probes: string[] = []
    const watched = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'put') {
          return (key: string, ...rest: [Uint8Array, object?]) => {
            if (key.startsWith(probeKeyPrefix)) probes.push(key)
            return target.put(key, ...rest)
          }
        }
        const v = Reflect.get(target, prop, receiver)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    const repo = await SnapshotRepository.open(watched)
    for (const lsn of [1, 2, 3]) await repo.create('p', sourceOf(makeEntries(100, { tag: `${lsn}` }), lsn), { writer })
    await repo.prune('p', { keep: 1 })
    assert.equal(new Set(probes).size, 1)
    assert.deepEqual(await keysUnder(store, probeKeyPrefix), [])
  })
})
