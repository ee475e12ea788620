/**
 * The partition's surface is closed: its log is not reachable from outside (a caller appending
 * to it directly would bypass the apply step, and one trimming it the trim floor).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

test('a partition does not hand out its log; what callers read from it has getters', async () => {
  const store = await Store.open('/data', { fs: new MemoryFileSystem() })
  try {
    const p = await store.ensurePartition('p')
    await p.put('a', '1')
    assert.equal((p as unknown as Record<string, unknown>).log, undefined, 'no log property')
    assert.ok(!Object.keys(p).includes('log'))
    assert.match(p.logId, /^[0-9a-f]{32}$/)
    assert.equal(p.logId, p.info().logId)
    assert.equal(store.catalog.partition('p')?.activeLogId, p.logId)
  } finally {
    await store.close()
  }
})
