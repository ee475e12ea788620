/**
 * Restarts: a stop in the middle of a copy resumes after the last chunk written (finished chunks
 * are not read again), and a power loss while writes stall shows that Postgres was never told
 * more than cairn holds durably (the slot's confirmed_flush_lsn against the recovered source
 * LSN), after which a new ingester ends equal.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PostgresIngester } from '../../src/ingest/index.js'
import { decodeProgress, foldProgress, type IngestMeta, newMeta } from '../../src/ingest/postgres/ingest-status.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { assertSameRows, startIngestEnv, stopIngestEnv, waitCaughtUp, waitFor } from '../helpers/ingest-helpers.js'
import { startWorkload } from '../helpers/ingest-workload.js'
import type { TestPostgres } from '../helpers/postgres.js'
import { testSeed, withSeed } from '../helpers/seed.js'
import type { TempDir } from '../helpers/temp-dir.js'

let pg: TestPostgres
let dir: TempDir

before(async () => ({ pg, dir } = await startIngestEnv()))
after(() => stopIngestEnv({ pg, dir }))

test('a stop mid-copy resumes after the last chunk written: no finished chunk is read again', async () => {
  await pg.query('CREATE TABLE resume (id int PRIMARY KEY, v text)')
  await pg.query(`INSERT INTO resume SELECT i, 'v' || i FROM generate_series(1, 100) i`)
  const store = await Store.open(`${dir.path}/resume`)
  let chunks = 0
  let releaseFifth!: () => void
  const fifth = new Promise<void>((r) => {
    releaseFifth = r
  })
  const first = await PostgresIngester.start({
    url: pg.url,
    store,
    partition: 'resume',
    tables: ['resume'],
    chunkRows: 10,
    copyParallelism: 1,
    hooks: {
      afterChunkRead: async () => {
        // The fifth chunk is read but held, so it is never written: the stop comes first.
        if (++chunks === 5) await fifth
      },
    },
  })
  await waitFor('four chunks written', () => first.status().tables[0]?.rowsCopied === 40)
  await first.stop()
  releaseFifth()
  const meta = store.catalog.partition('resume')?.meta.ingest as IngestMeta
  assert.equal(meta.tables['public.resume']?.chunksCopied, 4)
  assert.deepEqual(meta.tables['public.resume']?.lastKey, ['40'])

  const rowsRead: number[] = []
  const second = await PostgresIngester.start({
    url: pg.url,
    store,
    partition: 'resume',
    tables: ['resume'],
    chunkRows: 10,
    hooks: { afterChunkRead: (_t, rows) => void rowsRead.push(rows) },
  })
  try {
    await waitCaughtUp(second, pg.url)
    // Rows 41..100 in six chunks, and the empty chunk that finds the end.
    assert.deepEqual(rowsRead, [10, 10, 10, 10, 10, 10, 0])
    assert.equal(second.status().tables[0]?.rowsCopied, 100)
    assert.equal(second.status().tables[0]?.rowsEstimate, 100)
    await assertSameRows(pg.url, await store.partition('resume'), ['public.resume'])
  } finally {
    await second.stop()
    await store.close()
  }
})

/** What a new ingester would recover: the catalog's checkpoint plus the log's progress payloads above it. */
async function recoveredSourceLsn(store: Store, partition: string): Promise<bigint> {
  const stored = store.catalog.partition(partition)?.meta.ingest as IngestMeta | undefined
  const meta = stored === undefined ? newMeta('', '') : structuredClone(stored)
  const p = await store.partition(partition)
  for await (const e of p.read({ fromLsn: meta.atLsn + 1 })) {
    const progress = decodeProgress(e.payloads[0] ?? new Uint8Array())
    if (progress !== undefined) foldProgress(meta, e.lsn, progress)
  }
  return meta.sourceLsn === undefined ? 0n : parseLsn(meta.sourceLsn)
}

test('power loss while writes stall: confirmed_flush_lsn is never past what cairn recovers, and a new ingester ends equal', async () => {
  await withSeed(testSeed(), async (seed) => {
    await pg.query('CREATE TABLE r (id int PRIMARY KEY, v int, s text)')
    await pg.query('CREATE TABLE r2 (a int, b int, v int, PRIMARY KEY (a, b))')
    await pg.query(`INSERT INTO r SELECT i, i, 's' || i FROM generate_series(1, 200) i`)
    const fs = new MemoryFileSystem({ seed })
    const store = await Store.open('/data', { fs })
    const ingester = await PostgresIngester.start({ url: pg.url, store, partition: 'crash', tables: ['r', 'r2'], chunkRows: 7 })
    const load = await startWorkload(pg.url, seed, 2)
    let released = false
    let release = (): void => {}
    try {
      await waitFor('some progress', () => (ingester.status().tables[0]?.rowsCopied ?? 0) > 30)
      // Writes stall (fsync never returns) while the stream keeps arriving: a client that
      // confirmed what it received, not what is durable, would now run ahead.
      release = fs.holdSyncs({ dirs: true })
      const opsAtHold = load.ops()
      await waitFor('writes while stalled', () => load.ops() > opsAtHold + 100)
      fs.powerLoss({ keep: 'synced-only' })
      release()
      released = true
      await ingester.done.then(
        () => undefined,
        () => undefined,
      )
    } finally {
      if (!released) release()
      await load.stop()
      await ingester.stop()
    }
    const slot = await pg.query<{ lsn: string }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'cairn_crash'`)
    const confirmed = parseLsn(slot.rows[0]!.lsn)
    const reopened = await Store.open('/data', { fs })
    const durable = await recoveredSourceLsn(reopened, 'crash')
    assert.ok(durable > 0n, 'something was durable before the stall')
    assert.ok(confirmed <= durable, `confirmed_flush_lsn ${confirmed.toString(16)} is past the recovered ${durable.toString(16)}`)
    const again = await PostgresIngester.start({ url: pg.url, store: reopened, partition: 'crash', tables: ['r', 'r2'], chunkRows: 7 })
    try {
      await waitCaughtUp(again, pg.url, 60_000)
      const p = await reopened.partition('crash')
      await assertSameRows(pg.url, p, ['public.r', 'public.r2'])
    } finally {
      await again.stop()
      await reopened.close()
    }
  })
})
