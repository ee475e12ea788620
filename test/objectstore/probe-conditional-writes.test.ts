import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCairnError } from '../../src/io/index.js'
import { FaultObjectStore, MemoryObjectStore, type ObjectStore, type PutOptions, probeConditionalWrites } from '../../src/objectstore/index.js'

/** A store that accepts conditions and ignores them, as s3rver does. */
class IgnoringConditions extends MemoryObjectStore {
  override put(key: string, body: Uint8Array, _options?: PutOptions): Promise<{ etag: string }> {
    return super.put(key, body)
  }
}

/** A store that honors If-None-Match but not If-Match (MinIO once had a bug of this kind). */
class IgnoringIfMatch extends MemoryObjectStore {
  override put(key: string, body: Uint8Array, options?: PutOptions): Promise<{ etag: string }> {
    return super.put(key, body, options?.condition !== undefined && 'ifMatch' in options.condition ? {} : options)
  }
}

async function leftovers(store: ObjectStore): Promise<string[]> {
  return (await store.list('_cairn/')).objects.map((o) => o.key)
}

test('the probe: enforced on a store that enforces; not on one that ignores both or only If-Match; it always cleans up', async () => {
  const good = new MemoryObjectStore()
  assert.deepEqual(await probeConditionalWrites(good), { enforced: true })
  const ignoring = new IgnoringConditions()
  const result = await probeConditionalWrites(ignoring)
  assert.equal(result.enforced, false)
  assert.match(result.reason ?? '', /If-None-Match/)
  const half = await probeConditionalWrites(new IgnoringIfMatch())
  assert.equal(half.enforced, false)
  assert.match(half.reason ?? '', /If-Match/)
  for (const store of [good, ignoring]) assert.deepEqual(await leftovers(store), [])
})

test('the probe rethrows a store failure (unreachable is not "unsupported") and still cleans up', async () => {
  const inner = new MemoryObjectStore()
  const store = new FaultObjectStore(inner)
  store.failNext('put', 'fail')
  await assert.rejects(probeConditionalWrites(store), (e) => isCairnError(e, 'OBJECT_STORE_ERROR'))
  store.failNext('put', 'commitThenFail')
  await assert.rejects(probeConditionalWrites(store), (e) => isCairnError(e, 'OBJECT_STORE_ERROR'))
  assert.deepEqual(await leftovers(inner), [])
})
