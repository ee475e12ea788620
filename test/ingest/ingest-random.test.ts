/**
 * No lost updates, and every published position is right: a seeded random load (inserts,
 * updates, deletes, key changes, multi-statement transactions from three clients) runs while
 * tables are copied in tiny chunks, with an in-process restart in the middle. Afterwards cairn
 * equals Postgres row for row; every consistent position the ingester published equals the
 * source at its source position (the oracle: a test_decoding slot created before the first
 * row, replayed); positions never go back, across the restart too; and the slot's
 * confirmed_flush_lsn is never past what cairn holds durably.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PostgresIngester } from '../../src/ingest/index.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { Store } from '../../src/partition/index.js'
import { assertSameRows, diffRows, startIngestEnv, stopIngestEnv, waitCaughtUp, waitFor } from '../helpers/ingest-helpers.js'
import { createWorkloadTables, oracleHistory, replayOracle, seedRows, startWorkload, workloadTables } from '../helpers/ingest-workload.js'
import type { TestPostgres } from '../helpers/postgres.js'
import { testSeed, withSeed } from '../helpers/seed.js'
import type { TempDir } from '../helpers/temp-dir.js'

let pg: TestPostgres
let dir: TempDir

before(async () => ({ pg, dir } = await startIngestEnv()))
after(() => stopIngestEnv({ pg, dir }))

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

test('random concurrent load during a chunked copy with a restart: equal at the end, every published position right', async () => {
  await withSeed(testSeed(), async (seed) => {
    await createWorkloadTables(pg, 'oracle')
    await seedRows(pg, 300)
    const store = await Store.open(dir.path)
    const published: { lsn: number; source: bigint; run: number }[] = []
    const problems: string[] = []
    let ingester!: PostgresIngester
    let run = 0
    let polling = true
    let createdAt: string | undefined
    const start = () =>
      PostgresIngester.start({ url: pg.url, store, tables: ['r', 'r2'], chunkRows: 1 + (seed % 7), copyParallelism: 2 })
    ingester = await start()
    // Polls the published position and the slot's confirmed_flush_lsn the whole time.
    const poller = (async () => {
      const client = await pg.connect()
      try {
        while (polling) {
          const slot = await client.query<{ lsn: string | null }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'cairn_pg'`)
          const confirmed = slot.rows[0]?.lsn
          const s = ingester.status()
          // Read after the slot: what cairn holds durably only grows, so it must cover what
          // Postgres was told before (beyond the slot's creation point, where it starts).
          if (confirmed !== undefined && confirmed !== null) createdAt ??= confirmed
          if (confirmed !== undefined && confirmed !== null && confirmed !== createdAt) {
            const durable = s.sourceLsn === undefined ? 0n : parseLsn(s.sourceLsn)
            if (parseLsn(confirmed) > durable) problems.push(`confirmed_flush_lsn ${confirmed} is past cairn's durable ${s.sourceLsn}`)
          }
          if (s.consistentLsn !== undefined && s.consistentSourceLsn !== undefined) {
            const last = published[published.length - 1]
            const source = parseLsn(s.consistentSourceLsn)
            if (last !== undefined && (s.consistentLsn < last.lsn || source < last.source)) problems.push(`published position went back: ${JSON.stringify([last.lsn, s.consistentLsn])}`)
            if (last === undefined || last.lsn !== s.consistentLsn) published.push({ lsn: s.consistentLsn, source, run })
          }
          await new Promise((r) => setTimeout(r, 5))
        }
      } finally {
        await client.end()
      }
    })()
    const load = await startWorkload(pg.url, seed)
    let finished = false
    try {
      // Restart in the middle of the copy.
      await waitFor('some chunks', () => ingester.status().tables.some((t) => t.rowsCopied > 40))
      await ingester.stop()
      run = 1
      ingester = await start()
      await waitFor('every copy to finish', () => ingester.status().tables.every((t) => t.state === 'done'), 60_000)
      // Keep writing a little after the copy finished.
      const opsAtDone = load.ops()
      await waitFor('more writes', () => load.ops() > opsAtDone + 100)
      await load.stop()
      await waitCaughtUp(ingester, pg.url, 60_000)
      finished = true
    } finally {
      polling = false
      await load.stop()
      await poller
      if (!finished) {
        await ingester.stop()
        await store.close()
      }
    }
    const partition = await store.partition('pg')
    await assertSameRows(pg.url, partition, workloadTables)
    await ingester.stop()
    assert.deepEqual(problems.slice(0, 5), [])
    assert.ok(published.length > 0, 'a consistent position was published')
    assert.ok(
      published.some((p) => p.run === 1),
      'the restarted ingester published',
    )

    // Oracle: cairn's state at each published partition LSN (its log replayed) equals the
    // source at the published source position (the oracle slot replayed).
    const client = await pg.connect()
    const txns = await oracleHistory(client, 'oracle').finally(() => client.end())
    const cairn = new Map<string, string>()
    const oracle = new Map<string, string>()
    let oracleAt = 0
    let lsnAt = 0
    let lastDoneLsn = 0
    const entries: { lsn: number; ops: { type: string; key?: Uint8Array; value?: Uint8Array; start?: Uint8Array; end?: Uint8Array }[]; payload: string }[] = []
    for await (const e of partition.read()) entries.push({ lsn: e.lsn, ops: e.ops as never, payload: new TextDecoder().decode(e.payloads[0]) })
    const doneTables = new Set<string>()
    for (const e of entries) {
      const tables = (JSON.parse(e.payload) as { tables?: Record<string, { state: string }> }).tables ?? {}
      for (const [name, t] of Object.entries(tables)) if (t.state === 'done' && !doneTables.has(name)) doneTables.add(name)
      if (doneTables.size === workloadTables.length && lastDoneLsn === 0) lastDoneLsn = e.lsn
    }
    assert.ok(published[0]!.lsn >= lastDoneLsn, `nothing is published before every copy is done (first ${published[0]!.lsn}, copies done at ${lastDoneLsn})`)
    let checked = 0
    for (const p of published) {
      for (; lsnAt < entries.length && entries[lsnAt]!.lsn <= p.lsn; lsnAt++) {
        for (const op of entries[lsnAt]!.ops) {
          if (op.type === 'put') cairn.set(latin1(op.key!), new TextDecoder().decode(op.value!))
          else if (op.type === 'delete') cairn.delete(latin1(op.key!))
          else for (const k of [...cairn.keys()]) if (k >= latin1(op.start!) && k < latin1(op.end!)) cairn.delete(k)
        }
      }
      oracleAt = replayOracle(txns, oracleAt, p.source, oracle)
      assert.deepEqual(diffRows(oracle, cairn), [], `published position ${p.lsn} (source ${p.source.toString(16)})`)
      checked++
    }
    assert.ok(checked > 0)
    await store.close()
  })
})
