/** The catalog's record of each partition's chain is checked on every load. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { atomicWriteFile, CairnError, MemoryFileSystem, sha256Hex } from '../../src/io/index.js'
import { type CatalogData, Store } from '../../src/partition/index.js'

async function withCatalog(change: (data: CatalogData) => void): Promise<unknown> {
  const fs = new MemoryFileSystem()
  const store = await Store.open('/data', { fs })
  const p = await store.createPartition('p')
  await p.append(['x'])
  await store.rollPartitionLog('p')
  const data = store.catalog.data
  await store.close()
  change(data)
  await atomicWriteFile(fs, '/data/catalog.json', new TextEncoder().encode(JSON.stringify({ checksum: sha256Hex(JSON.stringify(data)), body: data })))
  return await Store.open('/data', { fs }).then(
    async (s) => {
      await s.close()
      return undefined
    },
    (e: unknown) => e,
  )
}

test('a well-formed chain opens; a damaged one is CORRUPT_CATALOG saying what is wrong', async () => {
  assert.equal(await withCatalog(() => undefined), undefined)
  const cases: [string, (d: CatalogData) => void, RegExp][] = [
    ['no logs', (d) => {
      d.partitions.p!.logs = []
    }, /no log chain/],
    ['out of order', (d) => {
      d.partitions.p!.logs[1]!.firstLsn = 1
    }, /not in LSN order/],
    ['active not last', (d) => {
      d.partitions.p!.activeLogId = d.partitions.p!.logs[0]!.logId
    }, /active log is not the last/],
    ['bad log id', (d) => {
      d.partitions.p!.logs[0]!.logId = '../../etc'
    }, /log id/],
    ['bad state id', (d) => {
      d.partitions.p!.stateId = 'x/y'
    }, /state id/],
  ]
  for (const [what, change, message] of cases) {
    const e = await withCatalog(change)
    assert.ok(e instanceof CairnError && e.code === 'CORRUPT_CATALOG', `${what}: ${String(e)}`)
    assert.match((e as Error).message, message, what)
  }
})
