import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCairnError } from '../../src/io/index.js'
import { MemoryObjectStore } from '../../src/objectstore/index.js'
import { runObjectStoreConformance } from '../helpers/object-store-conformance.js'

const bytes = (s: string) => new TextEncoder().encode(s)

test('memory store: conditional puts create once and replace only the version read', async () => {
  const store = new MemoryObjectStore()
  const { etag } = await store.put('p/latest.json', bytes('1'), { condition: { ifNoneMatch: '*' } })
  await assert.rejects(store.put('p/latest.json', bytes('x'), { condition: { ifNoneMatch: '*' } }), (e) => isCairnError(e, 'PRECONDITION_FAILED'))
  const second = await store.put('p/latest.json', bytes('2'), { condition: { ifMatch: etag } })
  assert.notEqual(second.etag, etag)
  await assert.rejects(store.put('p/latest.json', bytes('3'), { condition: { ifMatch: etag } }), (e) => isCairnError(e, 'PRECONDITION_FAILED'))
  await assert.rejects(store.put('p/missing', bytes('3'), { condition: { ifMatch: etag } }), (e) => isCairnError(e, 'PRECONDITION_FAILED'))
  assert.deepEqual((await store.get('p/latest.json')).bytes, bytes('2'))
})

test('memory store: the clock of lastModified is the one given', async () => {
  const store = new MemoryObjectStore({ now: () => 1_000 })
  await store.put('a', bytes('x'))
  assert.equal((await store.head('a'))?.lastModified.getTime(), 1_000)
})

runObjectStoreConformance('MemoryObjectStore', async () => {
  const store = new MemoryObjectStore()
  return { store, cleanup: () => store.close() }
})
