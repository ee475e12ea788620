import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FaultFileSystem, type FileSystem, MemoryFileSystem } from '../../../src/io/index.js'
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

test('file store: a page of a large folder stats about a page of files, whatever the cursor (no walk of everything)', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem())
  const store = await FileObjectStore.open('/repo', { fs })
  for (let i = 0; i < 600; i++) await store.put(`chunks/${String(i).padStart(4, '0')}`, bytes('x'))
  let stats = 0
  fs.failWhen((op) => {
    if (op.name === 'stat') stats += 1
    return false
  })
  const page = await store.list('chunks/', { startAfter: 'chunks/0300', limit: 10 })
  assert.deepEqual(
    page.objects.map((o) => o.key),
    Array.from({ length: 10 }, (_, i) => `chunks/${String(301 + i).padStart(4, '0')}`),
  )
  assert.equal(page.next, 'chunks/0310')
  assert.ok(stats <= 12, `${stats} stats for a page of 10`)
})

/** The file system of a read-only mount: every change fails with EROFS. */
function readOnly(inner: MemoryFileSystem): FileSystem {
  const erofs = () => Promise.reject(Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }))
  return {
    open: (path, mode) => (mode === 'read' ? inner.open(path, mode) : erofs()),
    readFile: (path) => inner.readFile(path),
    syncDir: erofs,
    rename: erofs,
    link: erofs,
    unlink: erofs,
    mkdir: erofs,
    removeTree: erofs,
    list: (path) => inner.list(path),
    stat: (path) => inner.stat(path),
  }
}

test('file store: a repository on a read-only mount opens and reads; writes fail as IO_ERROR', async () => {
  const fs = new MemoryFileSystem()
  const writer = await FileObjectStore.open('/repo', { fs })
  await writer.put('p/latest.json', bytes('v1'))
  await fs.removeTree('/repo/.cairn')
  const store = await FileObjectStore.open('/repo', { fs: readOnly(fs) })
  assert.equal(new TextDecoder().decode((await store.get('p/latest.json')).bytes), 'v1')
  assert.deepEqual(
    (await store.list('')).objects.map((o) => o.key),
    ['p/latest.json'],
  )
  await assert.rejects(store.put('p/x', bytes('x')), (e) => (e as { code?: string }).code === 'IO_ERROR')
  await assert.rejects(FileObjectStore.open('/missing', { fs: readOnly(fs) }), (e) => (e as { code?: string }).code === 'IO_ERROR')
})

test('file store: leftovers of lock takers that died long ago (.tmp, .stale beside the locks) are removed at open; locks are not', async () => {
  let clock = 0
  const fs = new MemoryFileSystem({ now: () => clock })
  await FileObjectStore.open('/repo', { fs })
  for (const name of ['k.lock.1.tmp', 'k.lock.2.stale', 'k.lock']) await (await fs.open(`/repo/.cairn/locks/${name}`, 'createNew')).close()
  clock = Date.now()
  await (await fs.open('/repo/.cairn/locks/k.lock.3.tmp', 'createNew')).close()
  await FileObjectStore.open('/repo', { fs })
  assert.deepEqual(await fs.list('/repo/.cairn/locks'), ['k.lock', 'k.lock.3.tmp'])
})
