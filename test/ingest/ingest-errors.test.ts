/**
 * The errors an operator sees: wal_level not logical (SOURCE_MISCONFIGURED, saying what to
 * set), the slot gone after cairn ingested through it (SOURCE_SLOT_LOST), slot creation stuck
 * behind a long transaction (SOURCE_UNAVAILABLE naming the backend), an unreachable source.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PostgresIngester } from '../../src/ingest/index.js'
import { CairnError } from '../../src/io/index.js'
import type { Store } from '../../src/partition/index.js'
import { startIngestEnv, stopIngestEnv, waitCaughtUp } from '../helpers/ingest-helpers.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'
import type { TempDir } from '../helpers/temp-dir.js'

let pg: TestPostgres
let dir: TempDir
let store: Store

before(async () => {
  ;({ pg, dir, store } = await startIngestEnv({ store: true }))
  await pg.query('CREATE TABLE t (id int PRIMARY KEY)')
  await pg.query('INSERT INTO t SELECT generate_series(1, 10)')
})
after(() => stopIngestEnv({ pg, dir, store }))

const isCode = (code: string, message?: RegExp) => (e: unknown) => e instanceof CairnError && e.code === code && (message === undefined || message.test(e.message))

test('wal_level other than logical: SOURCE_MISCONFIGURED saying to set wal_level=logical, and nothing is created', async () => {
  const replica = await startPostgres({ settings: { wal_level: 'replica' } })
  try {
    await replica.query('CREATE TABLE t (id int PRIMARY KEY)')
    await assert.rejects(PostgresIngester.start({ url: replica.url, store, partition: 'walrep' }), isCode('SOURCE_MISCONFIGURED', /wal_level=logical/))
    const pubs = await replica.query('SELECT 1 FROM pg_publication')
    assert.equal(pubs.rowCount, 0)
  } finally {
    await replica.stop()
  }
})

test('the slot dropped after cairn ingested through it: SOURCE_SLOT_LOST at the next start', async () => {
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'lost', tables: ['t'] })
  await waitCaughtUp(ingester, pg.url)
  await ingester.stop()
  await pg.query(`SELECT pg_drop_replication_slot('cairn_lost')`)
  await assert.rejects(PostgresIngester.start({ url: pg.url, store, partition: 'lost', tables: ['t'] }), isCode('SOURCE_SLOT_LOST', /cairn_lost/))
})

test('the slot dropped while ingesting: the ingester fails with SOURCE_SLOT_LOST', async () => {
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'lost2', tables: ['t'] })
  await waitCaughtUp(ingester, pg.url)
  // The stream holds the slot: end its backend (waiting until it is gone), then drop the slot at once.
  await pg.query(`DO $$ BEGIN
    PERFORM pg_terminate_backend(active_pid, 10000) FROM pg_replication_slots WHERE slot_name = 'cairn_lost2';
    PERFORM pg_drop_replication_slot('cairn_lost2');
  END $$`)
  await assert.rejects(ingester.done, isCode('SOURCE_SLOT_LOST'))
  assert.equal(ingester.status().phase, 'failed')
  await ingester.stop()
})

test('slot creation behind a long transaction: SOURCE_UNAVAILABLE after slotCreateMsMax, naming the blocking backend', async () => {
  const blocker = await pg.connect()
  try {
    await blocker.query('BEGIN')
    await blocker.query('INSERT INTO t VALUES (1000)')
    const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    await assert.rejects(
      PostgresIngester.start({ url: pg.url, store, partition: 'blocked', tables: ['t'], slotCreateMsMax: 500 }),
      isCode('SOURCE_UNAVAILABLE', new RegExp(`${pid}`)),
    )
  } finally {
    await blocker.query('ROLLBACK')
    await blocker.end()
  }
  // Once the transaction ended, the same start succeeds.
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'blocked', tables: ['t'] })
  await ingester.stop()
})

test('an unreachable source: SOURCE_UNAVAILABLE', async () => {
  await assert.rejects(PostgresIngester.start({ url: 'postgres://postgres@127.0.0.1:1/none', store, partition: 'gone' }), isCode('SOURCE_UNAVAILABLE'))
})
