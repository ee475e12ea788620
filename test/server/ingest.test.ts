/**
 * The server and an ingester inside it: GET /v1/ingest/status (404 INGEST_NOT_FOUND without
 * one), the consistent LSN in GET /v1/status, a stop before the store closes, and
 * `cairn serve --ingest-postgres` end to end against a real Postgres.
 */
import assert from 'node:assert/strict'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { IngestStatus } from '../../src/ingest/index.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { Store } from '../../src/partition/index.js'
import { cairn } from '../helpers/cli-helpers.js'
import { cairnRows, diffRows, sourceProbe, sourceRows, waitFor } from '../helpers/ingest-helpers.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'
import { startServe } from '../helpers/serve-process.js'
import { startServer } from '../helpers/server-helpers.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const fakeStatus: IngestStatus = { partition: 'pg', slot: 'cairn_pg', publication: 'cairn_pg', phase: 'copying', tables: [{ name: 'public.t', state: 'copying', rowsCopied: 5, bytesCopied: 50 }] }

describe('the ingest route and the stop, in-process', () => {
  test('without an ingester, GET /v1/ingest/status is 404 INGEST_NOT_FOUND', async () => {
    const s = await startServer()
    try {
      const res = await fetch(`${s.url}/v1/ingest/status`)
      assert.equal(res.status, 404)
      const body = (await res.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, 'INGEST_NOT_FOUND')
      assert.match(body.error.message, /--ingest-postgres/)
    } finally {
      await s.stop()
    }
  })

  test("answers the ingester's status; close() stops it while the store is still open, then closes the store", async () => {
    const events: string[] = []
    let storeRef: Store | undefined
    const ingest = {
      status: () => fakeStatus,
      async stop() {
        events.push('stop')
        // The store is still open: a last write of the ingester goes through.
        await (await storeRef!.ensurePartition('pg')).put('last', 'write')
        events.push('stopped')
      },
    }
    const s = await startServer({ ingest })
    storeRef = s.store
    const res = await fetch(`${s.url}/v1/ingest/status`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), fakeStatus)
    await s.server.close()
    events.push('closed')
    assert.deepEqual(events, ['stop', 'stopped', 'closed'])
    const reopened = await Store.open(s.tmp.path)
    try {
      assert.equal(new TextDecoder().decode(await (await reopened.partition('pg')).get('last')), 'write')
    } finally {
      await reopened.close()
      await s.tmp.cleanup()
    }
  })

  test('a failed stop still closes the store, and close() reports the failure', async () => {
    const failure = new Error('stop failed')
    const s = await startServer({ ingest: { status: () => fakeStatus, stop: () => Promise.reject(failure) } })
    await assert.rejects(s.server.close(), (e) => e === failure)
    // The lock is released: the store opens again.
    const reopened = await Store.open(s.tmp.path)
    await reopened.close()
    await s.tmp.cleanup()
  })
})

describe('cairn serve --ingest-postgres', () => {
  let pg: TestPostgres
  before(async () => {
    pg = await startPostgres()
  })
  after(async () => {
    await pg?.stop()
  })

  test('replicates while serving: /v1/ingest/status, consistentLsn in /v1/status, SIGTERM stops it with every row durable', async () => {
    await pg.query('CREATE TABLE items (id int PRIMARY KEY, name text)')
    await pg.query(`INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 40) i`)
    await pg.query('CREATE TABLE other (id int PRIMARY KEY)')
    const served = await startServe(['--ingest-postgres', pg.url, '--ingest-tables', 'items', '--ingest-partition', 'src'])
    try {
      const ingestStatus = async (): Promise<IngestStatus> => {
        const res = await fetch(`${served.url}/v1/ingest/status`)
        assert.equal(res.status, 200)
        return (await res.json()) as IngestStatus
      }
      await waitFor('a consistent position', async () => (await ingestStatus()).consistentLsn !== undefined, 60_000)
      await pg.query(`UPDATE items SET name = 'changed' WHERE id < 10`)
      await pg.query('DELETE FROM items WHERE id > 35')
      const target = await sourceProbe(pg)
      await waitFor('the stream to catch up', async () => {
        const s = await ingestStatus()
        // The phase follows the copies within a status tick (a second).
        return s.sourceLsn !== undefined && parseLsn(s.sourceLsn) >= target && s.phase === 'streaming'
      }, 60_000)
      const s = await ingestStatus()
      assert.equal(s.partition, 'src')
      assert.equal(s.slot, 'cairn_src')
      assert.equal(s.phase, 'streaming')
      assert.deepEqual(s.tables.map((t) => [t.name, t.state, t.rowsCopied]), [['public.items', 'done', 40]])
      // The status written to the catalog once a second catches up too; /v1/status reads it from there.
      await waitFor('the consistent LSN in /v1/status', async () => {
        const body = (await (await fetch(`${served.url}/v1/status`)).json()) as { partitions: { id: string; consistentLsn?: number }[] }
        const src = body.partitions.find((p) => p.id === 'src')
        return src?.consistentLsn !== undefined && src.consistentLsn >= s.consistentLsn!
      })
      const scan = (await (await fetch(`${served.url}/v1/partitions/src/scan?limit=100`)).json()) as { entries: unknown[] }
      assert.equal(scan.entries.length, 35)
    } finally {
      served.child.kill('SIGTERM')
      assert.equal(await served.exited, 0, served.stderr())
    }
    assert.match(served.stderr(), /"msg":"stopped"/)
    const store = await Store.open(served.data, { create: false })
    try {
      assert.deepEqual(diffRows(await sourceRows(pg.url, 'public.items'), await cairnRows(await store.partition('src'), 'public.items')), [])
      const meta = store.catalog.partition('src')?.meta.ingest as { status?: IngestStatus }
      assert.equal(meta.status?.phase, 'stopped')
    } finally {
      await store.close()
      await served.tmp.cleanup()
    }
  })

  test('when the port is taken, serve stops its ingester before closing the store and exits 1 (it does not hang on the ingester)', { timeout: 60_000 }, async () => {
    const taken = createNetServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    const tmp = await makeTempDir('cairn-serve-taken-')
    try {
      await pg.query('CREATE TABLE IF NOT EXISTS taken_t (id int PRIMARY KEY)')
      const r = await cairn(['serve', '--port', String(port), '--data', `${tmp.path}/store`, '--ingest-postgres', pg.url, '--ingest-tables', 'taken_t', '--ingest-partition', 'taken'])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, /EADDRINUSE/)
      // Stopped cleanly: it recorded its status, and the slot is free for the next start.
      const store = await Store.open(`${tmp.path}/store`, { create: false })
      try {
        assert.equal((store.catalog.partition('taken')!.meta.ingest as { status?: IngestStatus }).status?.phase, 'stopped')
      } finally {
        await store.close()
      }
      assert.equal((await pg.query(`SELECT active FROM pg_replication_slots WHERE slot_name = 'cairn_taken'`)).rows[0]?.active, false)
    } finally {
      taken.close()
      await tmp.cleanup()
      await cairn(['ingest', 'drop', '--url', pg.url, '--partition', 'taken'])
    }
  })

  test('a source that cannot be ingested stops the server from starting: exit 1 with the error code', async () => {
    await assert.rejects(startServe(['--ingest-postgres', 'postgres://postgres@127.0.0.1:1/postgres']), /SOURCE_UNAVAILABLE/)
  })
})
