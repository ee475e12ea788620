import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCairnError } from '../../../src/io/index.js'
import { FaultObjectStore, MemoryObjectStore } from '../../../src/objectstore/index.js'
import { runObjectStoreConformance } from '../../helpers/object-store-conformance.js'
import { testSeed, withSeed } from '../../helpers/seed.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const injected = (e: unknown) => isCairnError(e, 'OBJECT_STORE_ERROR') && e.context.injected === true

runObjectStoreConformance('FaultObjectStore without faults', async () => {
  const store = new FaultObjectStore(new MemoryObjectStore())
  return { store, cleanup: () => store.close() }
})

test('fail: the call throws OBJECT_STORE_ERROR and does nothing; only matching keys, only as many times as asked', async () => {
  const inner = new MemoryObjectStore()
  const store = new FaultObjectStore(inner)
  store.failNext('put', 'fail', { keyPrefix: 'partitions/p1/', times: 2 })
  await store.put('chunks/a', bytes('a'))
  await assert.rejects(store.put('partitions/p1/latest.json', bytes('1')), injected)
  await assert.rejects(store.put('partitions/p1/latest.json', bytes('1')), injected)
  assert.equal(await inner.head('partitions/p1/latest.json'), undefined)
  await store.put('partitions/p1/latest.json', bytes('1'))
  assert.equal(await inner.head('partitions/p1/latest.json') !== undefined, true)
  assert.deepEqual(store.calls, { get: 0, put: 4, head: 0, list: 0, delete: 0 })
  assert.equal(store.injected.fail, 2)
})

test('commitThenFail: the put is done, yet the caller sees a timeout; a retry of a create then meets PRECONDITION_FAILED', async () => {
  const inner = new MemoryObjectStore()
  const store = new FaultObjectStore(inner)
  store.failNext('put', 'commitThenFail')
  await assert.rejects(store.put('latest.json', bytes('v1'), { condition: { ifNoneMatch: '*' } }), injected)
  assert.equal(new TextDecoder().decode((await inner.get('latest.json')).bytes), 'v1')
  await assert.rejects(store.put('latest.json', bytes('v1'), { condition: { ifNoneMatch: '*' } }), (e) => isCairnError(e, 'PRECONDITION_FAILED'))
  store.failNext('delete', 'commitThenFail')
  await assert.rejects(store.delete('latest.json'), injected)
  assert.equal(await inner.head('latest.json'), undefined)
})

test('delay: the call waits, then runs; other calls are not held up', async () => {
  const store = new FaultObjectStore(new MemoryObjectStore())
  await store.put('k', bytes('x'))
  store.failNext('get', 'delay', { delayMs: 30, keyPrefix: 'k' })
  const order: string[] = []
  const slow = store.get('k').then(() => order.push('delayed get'))
  await store.head('k').then(() => order.push('head'))
  await slow
  assert.deepEqual(order, ['head', 'delayed get'])
  assert.equal(store.injected.delay, 1)
})

test('counts calls per operation, so a test can say "exactly one GET"; resetCounts starts over', async () => {
  const store = new FaultObjectStore(new MemoryObjectStore())
  await store.put('a', bytes('x'))
  await store.get('a')
  await store.head('a')
  await store.list('')
  await assert.rejects(store.get('missing'))
  assert.deepEqual(store.calls, { get: 2, put: 1, head: 1, list: 1, delete: 0 })
  store.resetCounts()
  assert.deepEqual(store.calls, { get: 0, put: 0, head: 0, list: 0, delete: 0 })
})

test('a seeded schedule injects the same faults for the same seed, and commitThenFail puts are really written', async () => {
  const seed = testSeed()
  await withSeed(seed, async () => {
    const run = async () => {
      const inner = new MemoryObjectStore()
      const store = new FaultObjectStore(inner, { seed, rates: { put: { fail: 0.3, commitThenFail: 0.2 } } })
      const outcomes: string[] = []
      for (let i = 0; i < 40; i++) {
        try {
          await store.put(`k${i}`, bytes(String(i)))
          outcomes.push('ok')
        } catch (e) {
          assert.ok(injected(e))
          outcomes.push((await inner.head(`k${i}`)) === undefined ? 'failed' : 'committed')
        }
      }
      return outcomes
    }
    const first = await run()
    assert.deepEqual(await run(), first)
    assert.ok(first.includes('ok'), 'some puts pass')
    assert.ok(first.includes('failed') || first.includes('committed'), 'some puts fault')
  })
})

test('heal drops every rule', async () => {
  const store = new FaultObjectStore(new MemoryObjectStore())
  store.failNext('head', 'fail', { times: 5 })
  store.heal()
  assert.equal(await store.head('k'), undefined)
})
