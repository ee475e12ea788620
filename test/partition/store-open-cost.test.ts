/**
 * Opening a store costs the same whatever its number of partitions: the per-partition recovery
 * work (fsyncs of its directories, removing leftovers) runs at the partition's first open.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

async function opsToOpen(partitions: number): Promise<number> {
  const mem = new MemoryFileSystem()
  const store = await Store.open('/data', { fs: mem })
  for (let i = 0; i < partitions; i++) await (await store.createPartition(`p${i}`)).append(['x'])
  await store.close()
  mem.processCrash()
  const fs = new FaultFileSystem(mem)
  const again = await Store.open('/data', { fs })
  const ops = fs.count
  assert.equal((await again.partition(`p${partitions - 1}`)).lastLsn, 1)
  await again.close()
  return ops
}

describe('Store.open does not grow with the number of partitions', () => {
  test('the same file operations for 2 and for 40 partitions', async () => {
    assert.equal(await opsToOpen(40), await opsToOpen(2))
  })
})
