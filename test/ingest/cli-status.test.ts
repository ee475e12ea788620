/** `cairn ingest status` never takes the store: an ingester starting at that moment must not find it locked. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readStatus } from '../../src/cli/commands/ingest-status.js'
import { Store } from '../../src/partition/index.js'
import { withTempDir } from '../helpers/temp-dir.js'

test('status read while the ingester opens the store: the open always succeeds', async () => {
  await withTempDir(async (dir) => {
    const seed = await Store.open(dir)
    await seed.ensurePartition('pg')
    await seed.catalog.update((c) => {
      c.partitions.pg!.meta.ingest = { version: 1, slot: 'cairn_pg', publication: 'cairn_pg', atLsn: 0, tables: {}, status: { partition: 'pg', slot: 'cairn_pg', publication: 'cairn_pg', phase: 'stopped', tables: [] } }
    })
    await seed.close()
    for (let i = 0; i < 20; i++) {
      const reading = readStatus(dir, 'pg')
      const owner = await Store.open(dir)
      await owner.close()
      assert.equal((await reading).status.phase, 'stopped')
    }
  })
})
