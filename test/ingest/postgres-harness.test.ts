/** The test Postgres starts with logical replication on, answers queries, and leaves nothing behind. */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import { startPostgres } from '../helpers/postgres.js'

test('startPostgres: wal_level=logical, a logical slot can be made, stop removes the cluster', async () => {
  const pg = await startPostgres()
  try {
    const level = await pg.query<{ wal_level: string }>('SHOW wal_level')
    assert.equal(level.rows[0]?.wal_level, 'logical')
    assert.equal(existsSync(pg.dir), true)
    await pg.query('CREATE TABLE t (id int PRIMARY KEY, v text)')
    await pg.query('INSERT INTO t VALUES ($1, $2)', [1, 'a'])
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
