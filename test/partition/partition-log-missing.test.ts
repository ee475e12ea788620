/**
 * A partition whose active log directory is gone is CORRUPT_LOG at open, never a new empty log
 * (which would silently drop every acknowledged record not yet in the state's tables).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

test('a missing active log is CORRUPT_LOG, and the store leaves it so', async () => {
  const fs = new MemoryFileSystem()
  const store = await Store.open('/data', { fs })
  await (await store.createPartition('p')).append(['acknowledged'])
  const logDir = `/data/partitions/p/logs/${store.catalog.partition('p')!.activeLogId}`
  await store.close()
  await fs.removeTree(logDir)
  const again = await Store.open('/data', { fs })
  await assert.rejects(again.partition('p'), (e: unknown) => e instanceof CairnError && e.code === 'CORRUPT_LOG' && /missing: restore/.test(e.message))
  assert.equal(await fs.stat(logDir), undefined, 'no empty log created in its place')
  await again.close()
})
