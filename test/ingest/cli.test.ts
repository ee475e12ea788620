/**
 * `cairn ingest postgres | status | drop` end to end, as child processes against a real
 * Postgres: status while the ingester runs (read beside it), a clean stop on SIGTERM with every
 * row durable, `info` showing the consistent LSN, drop, and the exit codes.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { readStatus } from '../../src/cli/commands/ingest-status.js'
import { run } from '../../src/cli/index.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { Store } from '../../src/partition/index.js'
import { cairn } from '../helpers/cli-helpers.js'
import { assertSameRows, sourceProbe, startIngestEnv, stopIngestEnv, waitFor } from '../helpers/ingest-helpers.js'
import type { TestPostgres } from '../helpers/postgres.js'
import type { TempDir } from '../helpers/temp-dir.js'
import { spawnIngest } from './cli-child.js'

let pg: TestPostgres
let tmp: TempDir

before(async () => ({ pg, dir: tmp } = await startIngestEnv({ tempPrefix: 'cairn-ingest-cli-' })))
after(() => stopIngestEnv({ pg, dir: tmp }))

type Status = Record<string, unknown> & { phase: string; tables: { name: string; state: string }[] }

/** `cairn ingest status --json` as a child process. */
async function statusJson(data: string, partition = 'pg'): Promise<Status> {
  const r = await cairn(['ingest', 'status', '--data', data, '--partition', partition, '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

/** What `ingest status` reads, in this process (a child per poll would cost seconds on a busy machine). */
async function status(data: string): Promise<Status> {
  return (await readStatus(data, 'pg')).status as unknown as Status
}

/** Runs the CLI in this process; returns the exit code and what it wrote to stderr. */
async function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = ''
  const write = process.stderr.write
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  }) as typeof process.stderr.write
  try {
    return { code: await run(['node', 'cairn', ...args]), stderr }
  } finally {
    process.stderr.write = write
  }
}


test('ingest postgres runs until SIGTERM (status --json beside it), stops cleanly with every row durable; info shows the consistent LSN; drop removes slot and publication', async () => {
  await pg.query('CREATE TABLE users (id int PRIMARY KEY, name text)')
  await pg.query(`INSERT INTO users SELECT i, 'user ' || i FROM generate_series(1, 60) i`)
  await pg.query('CREATE TABLE orders (id bigint PRIMARY KEY, user_id int, total numeric)')
  await pg.query('INSERT INTO orders SELECT i, i % 60, i * 2.5 FROM generate_series(1, 40) i')
  const data = `${tmp.path}/store`
  const ingest = spawnIngest(['--url', pg.url, '--data', data, '--tables', 'users,orders', '--chunk-rows', '7', '--progress-ms', '0'])
  try {
    // The ingester holds the store: status reads the catalog beside it.
    await waitFor('the copy to finish and a consistent position', async () => {
      if (ingest.child.exitCode !== null) throw new Error(`ingest exited: ${ingest.stderr()}`)
      const s = await status(data).catch(() => undefined)
      return s !== undefined && s.phase === 'streaming' && s.consistentLsn !== undefined
    }, 60_000)
    await pg.query(`UPDATE users SET name = 'renamed' WHERE id % 4 = 0`)
    await pg.query('DELETE FROM orders WHERE id > 30')
    await pg.query('INSERT INTO users VALUES (1000, $1)', ['late'])
    const target = await sourceProbe(pg)
    await waitFor('the stream to catch up', async () => {
      const s = await status(data)
      // Retained WAL is polled every 2 s: the recorded status has it once one poll ran.
      return typeof s.sourceLsn === 'string' && parseLsn(s.sourceLsn) >= target && typeof s.retainedWalBytes === 'number'
    }, 60_000)
    // The command itself, beside the running ingester.
    const running = await statusJson(data)
    assert.deepEqual(running.tables.map((t) => [t.name, t.state]).sort(), [['public.orders', 'done'], ['public.users', 'done']])
    assert.equal(running.slot, 'cairn_pg')
    assert.equal(running.publication, 'cairn_pg')
    assert.equal(typeof running.lagBytes, 'number')
    assert.equal(typeof running.retainedWalBytes, 'number')
    ingest.child.kill('SIGTERM')
    const exit = await ingest.exited
    assert.deepEqual(exit, { code: 0, signal: null }, ingest.stderr())
  } finally {
    if (ingest.child.exitCode === null) ingest.child.kill('SIGKILL')
  }
  const log = ingest.stderr()
  assert.match(log, /ingest pg \(slot cairn_pg\): copying/)
  assert.match(log, /public\.users: copied 60 rows/)
  assert.match(log, /lag \d/)
  assert.match(log, /WAL retained/)
  assert.match(log, /SIGTERM: stopping/)
  assert.match(log, /\nstopped\n$/)

  // Stopped cleanly: every row is in the store, and the status says so.
  const store = await Store.open(data, { create: false })
  try {
    const partition = await store.partition('pg')
    await assertSameRows(pg.url, partition, ['public.users', 'public.orders'])
  } finally {
    await store.close()
  }
  const stopped = await statusJson(data)
  assert.equal(stopped.phase, 'stopped')
  const human = await cairn(['ingest', 'status', '--data', data])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /ingest pg \(slot cairn_pg\): stopped, 2 of 2 tables copied/)
  assert.match(human.stdout, /public\.orders: copied 40 rows/)
  const info = await cairn(['info', 'pg', '--data', data, '--json'])
  assert.equal(info.code, 0, info.stderr)
  assert.equal(JSON.parse(info.stdout).consistentLsn, stopped.consistentLsn)
  assert.ok(Number(stopped.consistentLsn) > 0)

  const slots = async () => (await pg.query(`SELECT slot_name FROM pg_replication_slots WHERE slot_name = 'cairn_pg'`)).rowCount
  const pubs = async () => (await pg.query(`SELECT pubname FROM pg_publication WHERE pubname = 'cairn_pg'`)).rowCount
  assert.equal(await slots(), 1)
  const dropped = await cairn(['ingest', 'drop', '--url', pg.url])
  assert.equal(dropped.code, 0, dropped.stderr)
  assert.match(dropped.stdout, /slot cairn_pg: dropped; publication cairn_pg: dropped/)
  assert.equal(await slots(), 0)
  assert.equal(await pubs(), 0)
  const again = await cairn(['ingest', 'drop', '--url', pg.url])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /slot cairn_pg: not found; publication cairn_pg: not found/)
})

test('usage errors exit 2; a source that fails exits 1 with its code; status without an ingester is INGEST_NOT_FOUND', async () => {
  const data = `${tmp.path}/errors`
  const usage = [
    ['ingest', 'postgres', '--data', data],
    ['ingest', 'postgres', '--data', data, '--url', 'mysql://localhost/db'],
    ['ingest', 'postgres', '--data', data, '--url', pg.url, '--partition', 'bad/id'],
    ['ingest', 'postgres', '--data', data, '--url', pg.url, '--chunk-rows', '0'],
    ['ingest', 'postgres', '--data', data, '--url', pg.url, '--tables', 'a,,b'],
    ['ingest', 'postgres', '--data', data, '--url', pg.url, '--slot', 'Bad-Slot'],
    ['ingest', 'drop', '--url', pg.url, '--publication', 'no spaces'],
    ['serve', '--data', data, '--ingest-tables', 'a'],
  ]
  for (const args of usage) {
    const r = await runCli(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
  }
  // Nothing listens on port 1.
  const unreachable = await runCli(['ingest', 'postgres', '--data', data, '--url', 'postgres://postgres@127.0.0.1:1/postgres'])
  assert.equal(unreachable.code, 1, unreachable.stderr)
  // The first start is retried a few times ("reconnecting in ..." lines) before the error.
  assert.match(unreachable.stderr, /^error SOURCE_UNAVAILABLE: /m)
  assert.match(unreachable.stderr, /^reconnecting in \d+\.\d s \(SOURCE_UNAVAILABLE: /m)
  assert.doesNotMatch(unreachable.stderr, /at .*\.ts:\d+/, 'no stack trace')

  await pg.query('CREATE TABLE nokey (a int, b text)')
  const nokey = await runCli(['ingest', 'postgres', '--data', data, '--url', pg.url, '--tables', 'nokey', '--partition', 'nokey'])
  assert.equal(nokey.code, 1, nokey.stderr)
  assert.match(nokey.stderr, /^error SOURCE_TABLE_UNSUPPORTED: /)
  assert.equal((await runCli(['ingest', 'drop', '--url', pg.url, '--partition', 'nokey'])).code, 0)

  const missing = await runCli(['ingest', 'status', '--data', data, '--partition', 'absent', '--json'])
  assert.equal(missing.code, 1)
  assert.equal(JSON.parse(missing.stderr).error.code, 'INGEST_NOT_FOUND')
  assert.equal((await runCli(['kv', 'put', 'plain', 'k', 'v', '--data', data])).code, 0)
  const plain = await runCli(['ingest', 'status', '--data', data, '--partition', 'plain'])
  assert.equal(plain.code, 1)
  assert.match(plain.stderr, /^error INGEST_NOT_FOUND: partition "plain" has no ingest status/)
})
