/**
 * The stream side: a transaction larger than a write spans several writes but is never split
 * across published positions; a source busy only outside the publication still moves the slot
 * (heartbeats), so WAL is not retained; a malformed pgoutput message ends the stream with
 * SOURCE_PROTOCOL (never a throw out of the socket's data handler).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PostgresIngester } from '../../src/ingest/index.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { ReplicationStream } from '../../src/ingest/postgres/replication-stream.js'
import { connectionConfig, connectText, ensurePublication, ensureSlot } from '../../src/ingest/postgres/source.js'
import { CairnError } from '../../src/io/index.js'
import type { Store } from '../../src/partition/index.js'
import { assertSameRows, startIngestEnv, stopIngestEnv, waitCaughtUp, waitFor } from '../helpers/ingest-helpers.js'
import type { TestPostgres } from '../helpers/postgres.js'
import type { TempDir } from '../helpers/temp-dir.js'

let pg: TestPostgres
let dir: TempDir
let store: Store

before(async () => ({ pg, dir, store } = await startIngestEnv({ store: true })))
after(() => stopIngestEnv({ pg, dir, store }))

test('a transaction larger than a write spans several writes, and no published position falls inside it', async () => {
  await pg.query('CREATE TABLE wide (id int PRIMARY KEY, v text)')
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'wide', tables: ['wide'], hooks: { batchBytesMax: 20_000 } })
  const published = new Set<number>()
  let polling = true
  const poller = (async () => {
    while (polling) {
      const lsn = ingester.status().consistentLsn
      if (lsn !== undefined) published.add(lsn)
      await new Promise((r) => setImmediate(r))
    }
  })()
  try {
    await waitCaughtUp(ingester, pg.url)
    await pg.query(`INSERT INTO wide SELECT i, repeat('x', 100) || i FROM generate_series(1, 3000) i`)
    await pg.query(`UPDATE wide SET v = 'y' WHERE id % 2 = 0`)
    await waitCaughtUp(ingester, pg.url)
  } finally {
    polling = false
    await poller
  }
  const partition = await store.partition('wide')
  await assertSameRows(pg.url, partition, ['public.wide'])
  const inside: number[] = []
  for await (const e of partition.read()) {
    const progress = JSON.parse(new TextDecoder().decode(e.payloads[0])) as { src?: string }
    if (progress.src === undefined) inside.push(e.lsn)
  }
  assert.ok(inside.length >= 2, `the big transactions were cut into several writes (${inside.length} without a position)`)
  assert.deepEqual(
    inside.filter((lsn) => published.has(lsn)),
    [],
  )
  await ingester.stop()
})

test('writes only outside the publication: heartbeats still move the slot, so WAL is released', async () => {
  await pg.query('CREATE TABLE watched (id int PRIMARY KEY)')
  await pg.query('CREATE TABLE elsewhere (id int PRIMARY KEY, v text)')
  const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'idle', tables: ['watched'], heartbeatIdleMs: 100 })
  try {
    await waitCaughtUp(ingester, pg.url)
    await pg.query(`INSERT INTO elsewhere SELECT i, repeat('z', 200) FROM generate_series(1, 5000) i`)
    const after = parseLsn((await pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn)
    await waitFor(
      "the slot's confirmed position past the writes elsewhere",
      async () => {
        const r = await pg.query<{ lsn: string }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'cairn_idle'`)
        return parseLsn(r.rows[0]!.lsn) >= after
      },
      20_000,
    )
    await waitFor('retained WAL in the status', () => ingester.status().retainedWalBytes !== undefined)
  } finally {
    await ingester.stop()
  }
})

test('a malformed pgoutput message from the replication connection ends the stream with SOURCE_PROTOCOL', async () => {
  await pg.query('CREATE TABLE bad (id int PRIMARY KEY)')
  const control = await connectText(pg.url, 'cairn-test')
  try {
    await ensurePublication(control, 'bad_pub', ['public.bad'])
    await ensureSlot(control, 'bad_slot', true)
  } finally {
    await control.end()
  }
  const messages: unknown[] = []
  const stream = await ReplicationStream.start({
    connection: connectionConfig(pg.url, 'cairn-test-stream'),
    slot: 'bad_slot',
    publication: 'bad_pub',
    startLsn: 0n,
    onMessage: (msg) => messages.push(msg),
  })
  try {
    // XLogData ('w', start, end, send time), carrying an update with the unknown submessage 'X'.
    const chunk = Buffer.concat([Buffer.from([0x77]), Buffer.alloc(24), Buffer.from([0x55, 0, 0, 0, 1, 0x58])])
    ;(stream as unknown as { onCopyData(chunk: Buffer): void }).onCopyData(chunk)
    await assert.rejects(stream.done, (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_PROTOCOL')
    assert.deepEqual(messages, [])
  } finally {
    await stream.stop()
    await pg.query(`SELECT pg_drop_replication_slot('bad_slot')`).catch(() => undefined)
  }
})
