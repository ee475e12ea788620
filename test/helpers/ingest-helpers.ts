/**
 * Helpers of the Postgres ingest tests: the file's Postgres, temp dir and store; rows on both
 * sides in cairn's encoding; waiting for the ingester.
 */
import assert from 'node:assert/strict'
import pg from 'pg'
import type { PostgresIngester } from '../../src/ingest/index.js'
import { encodeKey, tableRange } from '../../src/ingest/postgres/key-encoding.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { rowJson } from '../../src/ingest/postgres/row-encoding.js'
import { connectText, describeTable, quoteTable } from '../../src/ingest/postgres/source.js'
import { type Partition, type ReadSnapshot, Store } from '../../src/partition/index.js'
import { startPostgres, type TestPostgres } from './postgres.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

/** What an ingest test file shares: one Postgres (it takes seconds to start), a temp dir, and a store in it when asked. */
export interface IngestTestEnv {
  pg: TestPostgres
  dir: TempDir
  store: Store
}

/**
 * Starts the file's Postgres and temp dir (and, with `store`, opens a store in the dir): call it
 * in the file's `before`, and `stopIngestEnv` in its `after`.
 *
 * @example
 * let pg: TestPostgres
 * let dir: TempDir
 * before(async () => ({ pg, dir } = await startIngestEnv()))
 * after(() => stopIngestEnv({ pg, dir }))
 */
export async function startIngestEnv(options: { store?: boolean; tempPrefix?: string } = {}): Promise<IngestTestEnv> {
  const env: Partial<IngestTestEnv> = {}
  try {
    env.pg = await startPostgres()
    env.dir = await makeTempDir(options.tempPrefix)
    if (options.store === true) env.store = await Store.open(env.dir.path)
  } catch (e) {
    await stopIngestEnv(env)
    throw e
  }
  return env as IngestTestEnv
}

/** Closes what `startIngestEnv` made, whatever part of it was made (a `before` may have failed midway). */
export async function stopIngestEnv(env: Partial<IngestTestEnv>): Promise<void> {
  await env.store?.close()
  await env.pg?.stop()
  await env.dir?.cleanup()
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

/** Every row of `table` in Postgres as cairn encodes it: key (latin1) -> JSON text. */
export async function sourceRows(url: string, table: string, client?: pg.Client): Promise<Map<string, string>> {
  const c = client ?? (await connectText(url, 'cairn-test'))
  try {
    const t = await describeTable(c, table)
    const keyIndex = t.keyColumns.map((k) => t.columns.findIndex((col) => col.name === k))
    const r = await c.query<(string | null)[]>({ text: `SELECT ${t.columns.map((col) => `"${col.name}"`).join(', ')} FROM ${quoteTable(table)}`, rowMode: 'array' })
    const out = new Map<string, string>()
    for (const row of r.rows) {
      const key = encodeKey(
        table,
        keyIndex.map((i) => t.columns[i]!),
        keyIndex.map((i) => row[i] ?? null),
      )
      out.set(latin1(key), rowJson(t.columns, row))
    }
    return out
  } finally {
    if (client === undefined) await c.end()
  }
}

/** Every entry of `table` in the partition (or a snapshot of it). */
export async function cairnRows(source: Partition | ReadSnapshot, table: string): Promise<Map<string, string>> {
  const { start, end } = tableRange(table)
  const out = new Map<string, string>()
  for await (const [k, v] of source.scan({ gte: start, lt: end })) out.set(latin1(k), new TextDecoder().decode(v))
  return out
}

/** Asserts that each of `tables` holds in cairn exactly the rows it holds in Postgres. */
export async function assertSameRows(url: string, source: Partition | ReadSnapshot, tables: string[]): Promise<void> {
  for (const table of tables) assert.deepEqual(diffRows(await sourceRows(url, table), await cairnRows(source, table)), [], table)
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * Emits a probe message into the source's WAL and returns its LSN: an ingester whose `sourceLsn`
 * is at or past it applied every commit made before this call (their commit records end before
 * the message; the probe's own commit ends after it, so the ingester gets there with no
 * heartbeat). Not `pg_current_wal_lsn()`: that is the WAL *write* position, which lags commits
 * already made under `synchronous_commit = off` (the test Postgres runs so), so an ingester that
 * reached it may still lack the last of them (the kill test compared too early that way).
 *
 * @example
 * const target = await sourceProbe(pg)
 * await waitFor('catch-up', () => parseLsn(ingester.status().sourceLsn ?? '0/0') >= target)
 */
export async function sourceProbe(client: { query<R extends pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<R>> }): Promise<bigint> {
  const r = await client.query<{ lsn: string }>(`SELECT pg_logical_emit_message(true, 'cairn-test-probe', 'x')::text AS lsn`)
  return parseLsn(r.rows[0]!.lsn)
}

/** Waits until the ingester applied every source commit made before this call, and every copy is done. */
export async function waitCaughtUp(ingester: PostgresIngester, url: string, timeoutMs = 30_000): Promise<void> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  let target: bigint
  try {
    target = await sourceProbe(c)
  } finally {
    await c.end()
  }
  if (process.env.CAIRN_DEBUG !== undefined) console.error('waiting for', target.toString(16))
  await waitFor(
    'the ingester to catch up',
    () => {
      const s = ingester.status()
      if (s.phase === 'failed') throw new Error(`ingester failed: ${s.error?.code} ${s.error?.message}`)
      return s.sourceLsn !== undefined && parseLsn(s.sourceLsn) >= target && s.tables.every((t) => t.state === 'done')
    },
    timeoutMs,
  )
}

const short = (v: string | undefined): string | undefined => (v !== undefined && v.length > 160 ? `${v.slice(0, 100)}...(${v.length} chars)...${v.slice(-50)}` : v)

/** What differs (at most 10 lines), values cut short. */
export function diffRows(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const out: string[] = []
  for (const [k, v] of expected) if (actual.get(k) !== v) out.push(`key ${JSON.stringify(k)}: expected ${short(v)}, got ${short(actual.get(k))}`)
  for (const [k, v] of actual) if (!expected.has(k)) out.push(`key ${JSON.stringify(k)}: unexpected ${short(v)}`)
  return out.slice(0, 10)
}
