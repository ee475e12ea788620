/**
 * The ingester's cases one by one: TOAST values left out of updates, tables added while
 * streaming, tables without a primary key, replica identities, key changes, truncate, a row
 * deleted inside a chunk's window, and gating of the consistent position.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type IngestStatus, PostgresIngester } from '../../src/ingest/index.js'
import { CairnError } from '../../src/io/index.js'
import type { Store } from '../../src/partition/index.js'
import { assertSameRows, cairnRows, startIngestEnv, stopIngestEnv, waitCaughtUp, waitFor } from '../helpers/ingest-helpers.js'
import type { TestPostgres } from '../helpers/postgres.js'
import type { TempDir } from '../helpers/temp-dir.js'

let pg: TestPostgres
let dir: TempDir
let store: Store

before(async () => ({ pg, dir, store } = await startIngestEnv({ store: true })))
after(() => stopIngestEnv({ pg, dir, store }))

async function assertEqual(partition: string, tables: string[]): Promise<void> {
  const p = await store.partition(partition)
  await assertSameRows(pg.url, p, tables)
}

test('a TOAST value over 8 KB survives updates that leave it out (default and FULL identity), and key changes keep it', async () => {
  await pg.query('CREATE TABLE toasty (id int PRIMARY KEY, n int, doc text)')
  await pg.query('CREATE TABLE toasty_full (id int PRIMARY KEY, n int, doc text)')
  await pg.query('ALTER TABLE toasty_full REPLICA IDENTITY FULL')
  for (const t of ['toasty', 'toasty_full']) {
    // Random text does not compress below the TOAST threshold, so it is stored out of line.
    await pg.query(`INSERT INTO ${t} SELECT i, 0, (SELECT string_agg(md5(random()::text || j), '') FROM generate_series(1, 400) j) FROM generate_series(1, 5) i`)
  }
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'toast', tables: ['toasty', 'toasty_full'], chunkRows: 2 })
  try {
    await waitCaughtUp(ingester, pg.url)
    for (const t of ['toasty', 'toasty_full']) {
      await pg.query(`UPDATE ${t} SET n = n + 1`)
      await pg.query(`UPDATE ${t} SET n = n + 1 WHERE id = 2`)
      await pg.query(`UPDATE ${t} SET id = 20 WHERE id = 3`)
    }
    await waitCaughtUp(ingester, pg.url)
    await assertEqual('toast', ['public.toasty', 'public.toasty_full'])
    const row = (await cairnRows(await store.partition('toast'), 'public.toasty')).values().next().value!
    assert.ok((JSON.parse(row) as { doc: string }).doc.length > 8192)
  } finally {
    await ingester.stop()
  }
})

test('a table added to the publication while streaming is copied, and the position waits for it', async () => {
  await pg.query('CREATE TABLE first_t (id int PRIMARY KEY, v text)')
  await pg.query(`INSERT INTO first_t SELECT i, 'a' || i FROM generate_series(1, 10) i`)
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'added', tables: ['first_t'], chunkRows: 4 })
  try {
    await waitCaughtUp(ingester, pg.url)
    const before = ingester.status().consistentLsn
    assert.ok(before !== undefined)
    await pg.query('CREATE TABLE later_t (id int PRIMARY KEY, v text)')
    await pg.query(`INSERT INTO later_t SELECT i, 'b' || i FROM generate_series(1, 25) i`)
    await pg.query('ALTER PUBLICATION cairn_added ADD TABLE later_t')
    await pg.query(`UPDATE later_t SET v = 'changed' WHERE id < 4`)
    await waitFor('the new table to show', () => ingester.status().tables.some((t) => t.name === 'public.later_t'))
    await waitCaughtUp(ingester, pg.url)
    await assertEqual('added', ['public.first_t', 'public.later_t'])
    const after = ingester.status()
    assert.ok(after.consistentLsn !== undefined && after.consistentLsn > before)
  } finally {
    await ingester.stop()
  }
})

test('a table without a primary key is refused with SOURCE_TABLE_UNSUPPORTED, unless REPLICA IDENTITY FULL (keyed by all columns)', async () => {
  await pg.query('CREATE TABLE nokey (a int, b text)')
  await assert.rejects(
    PostgresIngester.start({ url: pg.url, store, partition: 'nokey', tables: ['nokey'] }),
    (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_TABLE_UNSUPPORTED' && /primary key/.test(e.message) && /REPLICA IDENTITY FULL/.test(e.message),
  )
  await pg.query('ALTER TABLE nokey REPLICA IDENTITY FULL')
  await pg.query(`INSERT INTO nokey VALUES (1, 'x'), (2, NULL), (3, 'z')`)
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'nokey', tables: ['nokey'], chunkRows: 2 })
  try {
    await pg.query(`UPDATE nokey SET b = 'y' WHERE a = 2`)
    await pg.query('DELETE FROM nokey WHERE a = 3')
    await pg.query(`INSERT INTO nokey VALUES (4, NULL)`)
    await waitCaughtUp(ingester, pg.url)
    await assertEqual('nokey', ['public.nokey'])
  } finally {
    await ingester.stop()
  }
})

test('REPLICA IDENTITY USING INDEX keys rows by that index; NOTHING streams inserts; truncate empties the table', async () => {
  await pg.query('CREATE TABLE by_index (id int PRIMARY KEY, code text NOT NULL, v int)')
  await pg.query('CREATE UNIQUE INDEX by_index_code ON by_index (code)')
  await pg.query('ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_code')
  await pg.query('CREATE TABLE by_nothing (id int PRIMARY KEY, v int)')
  await pg.query('ALTER TABLE by_nothing REPLICA IDENTITY NOTHING')
  await pg.query('CREATE TABLE truncated (id int PRIMARY KEY)')
  await pg.query(`INSERT INTO by_index SELECT i, 'c' || i, i FROM generate_series(1, 6) i`)
  await pg.query('INSERT INTO truncated SELECT generate_series(1, 9)')
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'ident', tables: ['by_index', 'by_nothing', 'truncated'], chunkRows: 4 })
  try {
    await pg.query(`UPDATE by_index SET code = 'moved' WHERE id = 2`)
    await pg.query('UPDATE by_index SET v = 100 WHERE id = 3')
    await pg.query('DELETE FROM by_index WHERE id = 4')
    await pg.query('INSERT INTO by_nothing VALUES (1, 1), (2, 2)')
    await pg.query('TRUNCATE truncated')
    await pg.query('INSERT INTO truncated VALUES (42)')
    await waitCaughtUp(ingester, pg.url)
    await assertEqual('ident', ['public.by_index', 'public.by_nothing', 'public.truncated'])
    const keys = [...(await cairnRows(await store.partition('ident'), 'public.by_index')).values()].map((v) => (JSON.parse(v) as { code: string }).code)
    assert.deepEqual(keys.sort(), ['c1', 'c3', 'c5', 'c6', 'moved'])
  } finally {
    await ingester.stop()
  }
})

test('no resurrection: a row deleted inside its chunk window stays deleted; updates there win over the copy', async () => {
  await pg.query('CREATE TABLE resurrect (id int PRIMARY KEY, v text)')
  await pg.query(`INSERT INTO resurrect SELECT i, 'v' || i FROM generate_series(1, 20) i`)
  const deleted: number[] = []
  const ingester = await PostgresIngester.start({
    url: pg.url,
    store,
    partition: 'resurrect',
    tables: ['resurrect'],
    chunkRows: 5,
    hooks: {
      // After the chunk's SELECT saw the rows: delete one it read and update another.
      afterChunkRead: async (_table, rows) => {
        if (rows === 0) return
        const first = deleted.length * 5 + 1
        deleted.push(first)
        await pg.query('DELETE FROM resurrect WHERE id = $1', [first])
        await pg.query(`UPDATE resurrect SET v = 'stream' WHERE id = $1`, [first + 1])
      },
    },
  })
  try {
    await waitCaughtUp(ingester, pg.url)
    await assertEqual('resurrect', ['public.resurrect'])
    assert.deepEqual(deleted, [1, 6, 11, 16])
    const rows = await cairnRows(await store.partition('resurrect'), 'public.resurrect')
    assert.equal(rows.size, 16)
  } finally {
    await ingester.stop()
  }
})

test('gating: nothing is published while a copy is unfinished, though the stream is written meanwhile', async () => {
  await pg.query('CREATE TABLE gate_a (id int PRIMARY KEY)')
  await pg.query('CREATE TABLE gate_b (id int PRIMARY KEY)')
  await pg.query('INSERT INTO gate_a SELECT generate_series(1, 10)')
  await pg.query('INSERT INTO gate_b SELECT generate_series(1, 10)')
  let release!: () => void
  const held = new Promise<void>((r) => {
    release = r
  })
  let holding = false
  const seen: IngestStatus[] = []
  const ingester = await PostgresIngester.start({
    url: pg.url,
    store,
    partition: 'gate',
    tables: ['gate_a', 'gate_b'],
    chunkRows: 3,
    copyParallelism: 2,
    onProgress: (s) => seen.push(s),
    hooks: {
      afterChunkRead: async (table, rows) => {
        if (table === 'public.gate_b' && rows > 0) {
          holding = true
          await held
        }
      },
    },
  })
  try {
    await waitFor('gate_b to be held', () => holding)
    await pg.query('INSERT INTO gate_a VALUES (100)')
    await waitFor('gate_a to be done', () => ingester.status().tables.find((t) => t.name === 'public.gate_a')?.state === 'done')
    const partition = await store.partition('gate')
    await waitFor('the insert to be written', async () => (await cairnRows(partition, 'public.gate_a')).size === 11)
    assert.equal(ingester.status().consistentLsn, undefined)
    release()
    await waitCaughtUp(ingester, pg.url)
    await assertEqual('gate', ['public.gate_a', 'public.gate_b'])
    const status = ingester.status()
    assert.ok(status.consistentLsn !== undefined)
    assert.equal(status.phase === 'copying' || status.phase === 'streaming', true)
    assert.ok(seen.every((s) => s.consistentLsn === undefined || s.tables.every((t) => t.state === 'done')))
  } finally {
    await ingester.stop()
  }
})

test('a table dropped while it is being copied leaves the ingest: its rows go, the position is published without it', async () => {
  await pg.query('CREATE TABLE keep_t (id int PRIMARY KEY)')
  await pg.query('CREATE TABLE drop_t (id int PRIMARY KEY)')
  await pg.query('INSERT INTO keep_t SELECT generate_series(1, 10)')
  await pg.query('INSERT INTO drop_t SELECT generate_series(1, 30)')
  let release!: () => void
  const held = new Promise<void>((r) => {
    release = r
  })
  let holding = false
  let dropChunks = 0
  const ingester = await PostgresIngester.start({
    url: pg.url,
    store,
    partition: 'dropped',
    tables: ['keep_t', 'drop_t'],
    chunkRows: 4,
    hooks: {
      afterChunkRead: async (table) => {
        // The second chunk of drop_t waits while the table is dropped.
        if (table === 'public.drop_t' && dropChunks++ === 1) {
          holding = true
          await held
        }
      },
    },
  })
  try {
    await waitFor('drop_t held', () => holding)
    await pg.query('DROP TABLE drop_t')
    release()
    await waitFor('drop_t to leave', () => ingester.status().tables.every((t) => t.name !== 'public.drop_t'))
    await waitCaughtUp(ingester, pg.url)
    const status = ingester.status()
    assert.equal(status.phase === 'failed', false)
    assert.ok(status.consistentLsn !== undefined)
    const p = await store.partition('dropped')
    assert.equal((await cairnRows(p, 'public.drop_t')).size, 0)
    await assertEqual('dropped', ['public.keep_t'])
  } finally {
    await ingester.stop()
  }
})
