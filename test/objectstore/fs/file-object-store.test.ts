import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../../src/io/index.js'
import { FileObjectStore, openObjectStore } from '../../../src/objectstore/index.js'
import { runObjectStoreConformance } from '../../helpers/object-store-conformance.js'
import { makeTempDir } from '../../helpers/temp-dir.js'

const bytes = (s: string) => new TextEncoder().encode(s)

runObjectStoreConformance('FileObjectStore on the real disk', async () => {
  const dir = await makeTempDir('cairn-objectstore-')
  const store = await openObjectStore(`file://${dir.path}/repo`)
  return {
    store,
    cleanup: async () => {
      await store.close()
      await dir.cleanup()
    },
  }
})

runObjectStoreConformance('FileObjectStore on MemoryFileSystem', async () => {
  const store = await FileObjectStore.open('/repo', { fs: new MemoryFileSystem() })
  return { store, cleanup: () => store.close() }
})

test('file store: temp files and locks live under .cairn/, which is never listed and no key may use', async () => {
  const fs = new MemoryFileSystem()
  const store = await FileObjectStore.open('/repo', { fs })
  await store.put('a/b', bytes('x'))
  await store.put('c', bytes('y'), { condition: { ifNoneMatch: '*' } })
  await store.put('c', bytes('z'), { condition: { ifMatch: (await store.head('c'))!.etag } })
  assert.deepEqual(await fs.list('/repo'), ['.cairn', 'a', 'c'])
  assert.deepEqual(await fs.list('/repo/.cairn/tmp'), [])
  assert.deepEqual(
    (await store.list('')).objects.map((o) => o.key),
    ['a/b', 'c'],
  )
  await assert.rejects(store.put('.cairn/tmp/x', bytes('x')), (e) => (e as { code?: string }).code === 'INVALID_ARGUMENT')
})

test('file store: an object and a folder of the same name clash as INVALID_ARGUMENT, not an I/O error', async () => {
  const store = await FileObjectStore.open('/repo', { fs: new MemoryFileSystem() })
  await store.put('a', bytes('x'))
  await assert.rejects(store.put('a/b', bytes('y')), (e) => (e as { code?: string }).code === 'INVALID_ARGUMENT')
  await store.put('d/e', bytes('x'))
  await assert.rejects(store.put('d', bytes('y')), (e) => (e as { code?: string }).code === 'INVALID_ARGUMENT')
  await assert.rejects(store.put('d', bytes('y'), { condition: { ifNoneMatch: '*' } }), (e) => (e as { code?: string }).code === 'INVALID_ARGUMENT')
  assert.equal(await store.head('d'), undefined)
  assert.equal(await store.head('a/b'), undefined)
})

test('file store: lastModified is the file modification time', async () => {
  let clock = 5_000
  const store = await FileObjectStore.open('/repo', { fs: new MemoryFileSystem({ now: () => clock }) })
  await store.put('k', bytes('x'))
  clock = 9_000
  assert.equal((await store.head('k'))?.lastModified.getTime(), 5_000)
  assert.equal((await store.list('')).objects[0]?.lastModified.getTime(), 5_000)
})

test('file store: a temp file left by a put that died long ago is removed at open; a recent one is kept', async () => {
  let clock = 0
  const fs = new MemoryFileSystem({ now: () => clock })
  await FileObjectStore.open('/repo', { fs })
  await (await fs.open('/repo/.cairn/tmp/old.tmp', 'createNew')).close()
  clock = Date.now()
  await (await fs.open('/repo/.cairn/tmp/recent.tmp', 'createNew')).close()
  await FileObjectStore.open('/repo', { fs })
  assert.deepEqual(await fs.list('/repo/.cairn/tmp'), ['recent.tmp'])
})
