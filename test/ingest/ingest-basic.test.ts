/** The ingester copies tables and streams their changes into a partition; the partition ends equal to Postgres. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { dropIngest, PostgresIngester, readIngestStatus, readStoredIngestStatus } from '../../src/ingest/index.js'
import { Store } from '../../src/partition/index.js'
import { cairnRows, diffRows, sourceRows, startIngestEnv, stopIngestEnv, waitCaughtUp, waitFor } from '../helpers/ingest-helpers.js'
import type { TestPostgres } from '../helpers/postgres.js'
import type { TempDir } from '../helpers/temp-dir.js'

let pg: TestPostgres
let dir: TempDir

before(async () => ({ pg, dir } = await startIngestEnv()))
after(() => stopIngestEnv({ pg, dir }))

test('copy and stream of simple tables: equal row for row, then status, stop and drop', async () => {
  await pg.query('CREATE TABLE items (id int PRIMARY KEY, name text, price numeric, big bigint, tags text[], at timestamptz, data jsonb, raw bytea, ok boolean)')
  await pg.query(`INSERT INTO items SELECT i, 'item ' || i, i * 1.5, i * 10000000000, ARRAY['a', 'b' || i], '2026-01-01'::timestamptz + i * interval '1 hour', jsonb_build_object('i', i), '\\x00ff'::bytea, i % 2 = 0 FROM generate_series(1, 50) i`)
  await pg.query('CREATE TABLE pairs (a text, b int, v text, PRIMARY KEY (a, b))')
  await pg.query(`INSERT INTO pairs SELECT 'k' || (i % 5), i, 'v' || i FROM generate_series(1, 30) i`)
  const store = await Store.open(dir.path)
  const statuses: string[] = []
  const ingester = await PostgresIngester.start({ url: pg.url, store, tables: ['items', 'public.pairs'], chunkRows: 7, onProgress: (s) => statuses.push(s.phase) })
  try {
    await pg.query(`UPDATE items SET name = 'changed' WHERE id % 3 = 0`)
    await pg.query('DELETE FROM items WHERE id > 45')
    await pg.query(`INSERT INTO items (id, name) VALUES (100, 'new')`)
    await pg.query(`UPDATE pairs SET b = b + 1000 WHERE b < 5`)
    await waitCaughtUp(ingester, pg.url)
    const partition = await store.partition('pg')
    for (const table of ['public.items', 'public.pairs']) {
      const expected = await sourceRows(pg.url, table)
      assert.deepEqual(diffRows(expected, await cairnRows(partition, table)), [], table)
    }
    const status = ingester.status()
    assert.ok(status.consistentLsn !== undefined && status.consistentLsn <= partition.lastLsn)
    assert.ok(status.sourceLsn !== undefined && status.confirmedLsn !== undefined && status.lagBytes !== undefined)
    // What `cairn ingest status` sees from the catalog, with the ingester running.
    await waitFor('the status to be recorded', async () => (await readStoredIngestStatus({ dir: dir.path }))?.consistentLsn !== undefined)
    const stored = await readStoredIngestStatus({ dir: dir.path })
    assert.deepEqual(
      stored?.tables.map((t) => [t.name, t.state]),
      [
        ['public.items', 'done'],
        ['public.pairs', 'done'],
      ],
    )
    assert.equal(await readStoredIngestStatus({ dir: dir.path, partition: 'other' }), undefined)
    assert.deepEqual(
      status.tables.map((t) => [t.name, t.state]),
      [
        ['public.items', 'done'],
        ['public.pairs', 'done'],
      ],
    )
  } finally {
    await ingester.stop()
  }
  const recorded = readIngestStatus(store.catalog.partition('pg')?.meta.ingest)
  assert.equal(recorded?.phase, 'stopped')
  assert.equal(statuses.at(-1), 'stopped')
  assert.ok(statuses.includes('streaming'))
  await store.close()
  assert.deepEqual(await dropIngest({ url: pg.url, slotName: 'cairn_pg', publicationName: 'cairn_pg' }), { slotDropped: true, publicationDropped: true })
})
