import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCairnError } from '../../src/io/index.js'
import { openObjectStore, parseObjectStoreUrl } from '../../src/objectstore/index.js'

test('parseObjectStoreUrl reads file, s3 and memory URLs', () => {
  assert.deepEqual(parseObjectStoreUrl('file:///var/backups/cairn'), { kind: 'file', dir: '/var/backups/cairn' })
  assert.deepEqual(parseObjectStoreUrl('file://rel/dir'), { kind: 'file', dir: 'rel/dir' })
  assert.deepEqual(parseObjectStoreUrl('/plain/path'), { kind: 'file', dir: '/plain/path' })
  assert.deepEqual(parseObjectStoreUrl('memory://t1'), { kind: 'memory', name: 't1' })
  assert.deepEqual(parseObjectStoreUrl('s3://bucket'), { kind: 's3', bucket: 'bucket', prefix: '' })
  assert.deepEqual(parseObjectStoreUrl('s3://bucket/a/b?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=true'), {
    kind: 's3',
    bucket: 'bucket',
    prefix: 'a/b/',
    endpoint: 'http://127.0.0.1:9000',
    region: 'eu-west-1',
    forcePathStyle: true,
  })
})

test('parseObjectStoreUrl refuses unknown schemes, parameters and credentials in the URL', () => {
  for (const url of [
    '',
    'ftp://x/y',
    's3://bucket/p?regoin=x',
    's3://bucket/p?forcePathStyle=yes',
    's3://bucket/p?endpoint=not a url',
    's3://key:secret@bucket/p',
    's3:///p',
    'memory://',
    'file://',
  ]) {
    assert.throws(() => parseObjectStoreUrl(url), (e) => isCairnError(e, 'INVALID_ARGUMENT'), url)
  }
})

test('memory:// stores of one name share their objects, across opens and closes', async () => {
  const a = await openObjectStore('memory://url-test-shared')
  await a.put('k', new Uint8Array([1, 2]))
  await a.close()
  const b = await openObjectStore('memory://url-test-shared')
  assert.deepEqual((await b.get('k')).bytes, new Uint8Array([1, 2]))
  const other = await openObjectStore('memory://url-test-other')
  assert.equal(await other.head('k'), undefined)
  await assert.rejects(a.get('k'), (e) => isCairnError(e, 'CLOSED'))
})
