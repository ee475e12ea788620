/**
 * The test Postgres starts with logical replication on, answers queries, and leaves nothing
 * behind; the catch-up probe of the ingest tests is past every commit made before it.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { sourceProbe } from '../helpers/ingest-helpers.js'
import { startPostgres } from '../helpers/postgres.js'

test('startPostgres: wal_level=logical, a logical slot can be made, sourceProbe is past every earlier commit, stop removes the cluster', async () => {
  // A WAL writer that wakes seldom keeps the WAL write position behind asynchronous commits (the
  // test Postgres runs with synchronous_commit=off), as a loaded machine does now and then.
  const pg = await startPostgres({ settings: { wal_writer_delay: '10000ms' } })
  try {
    const level = await pg.query<{ wal_level: string }>('SHOW wal_level')
    assert.equal(level.rows[0]?.wal_level, 'logical')
    assert.equal(existsSync(pg.dir), true)
    await pg.query('CREATE TABLE t (id int PRIMARY KEY, v text)')
    await pg.query('INSERT INTO t VALUES ($1, $2)', [1, 'a'])
    // An ingester at or past the probe holds this commit (the kill test once compared before the
    // last commits were applied: it waited for pg_current_wal_lsn(), the lagging write position).
    await pg.query('INSERT INTO t VALUES ($1, $2)', [2, 'b'])
    const committed = parseLsn((await pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn)
    const probe = await sourceProbe(pg)
    assert.ok(probe >= committed, `the probe ${probe.toString(16)} is before the commit ending by ${committed.toString(16)}`)
    await pg.query(`SELECT pg_create_logical_replication_slot('probe', 'pgoutput')`)
    const slots = await pg.query<{ n: string }>('SELECT count(*) AS n FROM pg_replication_slots')
    assert.equal(slots.rows[0]?.n, '1')
    await pg.query(`SELECT pg_drop_replication_slot('probe')`)
  } finally {
    await pg.stop()
  }
  assert.equal(existsSync(pg.dir), false)
  await assert.rejects(pg.connect())
})
