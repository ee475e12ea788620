import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { Store, StoreReader } from '../../src/partition/index.js'
import { withTempDir } from '../helpers/temp-dir.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

test("StoreReader.partitionMeta: a partition's catalog metadata as its owner last wrote it", async () => {
  await withTempDir(async (dir) => {
    const store = await Store.open(dir)
    await store.ensurePartition('pg')
    const reader = await StoreReader.open(dir)
    try {
      assert.deepEqual(await reader.partitionMeta('pg'), {})
      await store.catalog.update((c) => {
        c.partitions.pg!.meta.ingest = { consistentLsn: 7 }
      })
      // Read from the catalog now, not from a copy taken at open.
      assert.deepEqual(await reader.partitionMeta('pg'), { ingest: { consistentLsn: 7 } })
      await assert.rejects(reader.partitionMeta('nope'), isCode('PARTITION_NOT_FOUND'))
    } finally {
      await reader.close()
      await store.close()
    }
  })
})
