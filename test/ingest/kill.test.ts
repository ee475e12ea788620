/**
 * SIGKILL of the ingester at random points (seeded), while a writer mutates Postgres: inserts,
 * updates, deletes, primary-key changes, multi-statement transactions. After every kill the
 * slot's confirmed_flush_lsn is not past the source position cairn holds durably; every restart
 * resumes the copy where the durable chunks end (it reads no finished chunk again); after the
 * last restart cairn equals Postgres row for row.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { after, before, test } from 'node:test'
import type pg from 'pg'
import { decodeProgress, foldProgress, type IngestMeta, type IngestStatus } from '../../src/ingest/postgres/ingest-status.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { chunksInFlightMax } from '../../src/ingest/postgres/snapshotter.js'
import { seededRandom } from '../../src/io/seeded-random.js'
import { Store } from '../../src/partition/index.js'
import { cliArgs, repoRoot } from '../helpers/cli-helpers.js'
import { assertSameRows, sourceProbe, startIngestEnv, stopIngestEnv, waitFor } from '../helpers/ingest-helpers.js'
import type { TestPostgres } from '../helpers/postgres.js'
import { testSeed, withSeed } from '../helpers/seed.js'
import type { TempDir } from '../helpers/temp-dir.js'

const rounds = 10
const rowsPerTable = 200
const chunkRows = 2
/** At a kill, each table has at most `chunksInFlightMax` chunks read but not yet durable. */
/**
 * Chunks a run may read again without a restart: the applier has a chunk read again when it
 * cannot tell whether the chunk's snapshot saw a transaction (stream-applier.ts). Not a finished
 * chunk copied again, but counted in the reads.
 */
const rereadsPerRoundMax = 2
const tables = ['public.ka', 'public.kb']
/** A kill lands this long after the child was told to start (its start-up takes most of a second on a busy machine). */
const killAfterMsMax = 2500
const finalChunkRows = 64
/** Added to every write of the killed ingester's store (see kill-child.ts). */
const writeDelayMs = 10
/** Pause of the writer between changes (a few hundred changes per second at most). */
const writerPauseMs = 8

let pgc: TestPostgres
let tmp: TempDir

before(async () => ({ pg: pgc, dir: tmp } = await startIngestEnv({ tempPrefix: 'cairn-ingest-kill-' })))
after(() => stopIngestEnv({ pg: pgc, dir: tmp }))

interface Run {
  child: ChildProcess
  /** Lets the loaded child open the store and start. */
  go(): Promise<void>
  lines: string[]
  wait(line: RegExp): Promise<string>
  exited: Promise<number | null>
}

function startChild(data: string, chunks = chunkRows): Run {
  const child = spawn(process.execPath, [...cliArgs.slice(0, 2), 'test/ingest/kill-child.ts', data, pgc.url, tables.join(','), String(chunks), String(writeDelayMs)], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  const waiters: (() => void)[] = []
  child.stdout!.on('data', (c: Buffer) => {
    const text = partial + c.toString()
    const parts = text.split('\n')
    partial = parts.pop()!
    lines.push(...parts)
    for (const w of waiters.splice(0)) w()
  })
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c
  })
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      for (const w of waiters.splice(0)) w()
      resolve(code)
    }),
  )
  const wait = async (pattern: RegExp): Promise<string> => {
    for (;;) {
      const found = lines.find((l) => pattern.test(l))
      if (found !== undefined) return found
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited (${child.exitCode ?? child.signalCode}) before ${pattern}: ${lines.slice(-3).join(' | ')} ${stderr}`)
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  const go = async (): Promise<void> => {
    await wait(/^loaded$/)
    child.stdin!.write('go\n')
    await wait(/^ready$/)
  }
  return { child, lines, wait, exited, go }
}

/** Chunk SELECTs the run reported. */
function chunksOf(run: Run): number {
  const last = run.lines.filter((l) => l.startsWith('chunks ')).pop()
  return last === undefined ? 0 : Number(last.slice(7))
}

/** What cairn holds durably: the catalog's checkpoint plus the progress in the log above it (as a restart recovers it). */
async function durable(data: string): Promise<IngestMeta | undefined> {
  const store = await Store.open(data)
  try {
    const stored = store.catalog.partition('pg')?.meta.ingest as IngestMeta | undefined
    if (stored === undefined) return undefined
    const meta = structuredClone(stored)
    const partition = await store.partition('pg')
    for await (const batch of partition.readBatches({ fromLsn: meta.atLsn + 1 })) {
      for (const entry of batch) {
        const progress = decodeProgress(entry.payloads[0] ?? new Uint8Array())
        if (progress !== undefined) foldProgress(meta, entry.lsn, progress)
      }
    }
    return meta
  } finally {
    await store.close()
  }
}

/** Random changes, in autocommit statements and in transactions of several. */
class Writer {
  readonly #rng: ReturnType<typeof seededRandom>
  readonly #client: pg.Client
  /** Ids ever inserted per table (bounds the rows a copy without repeats can read). */
  readonly everInserted = new Map<string, number>(tables.map((t) => [t, rowsPerTable]))
  #nextId = rowsPerTable + 1
  #stop = false
  #running: Promise<void> | undefined
  ops = 0

  constructor(rng: ReturnType<typeof seededRandom>, client: pg.Client) {
    this.#rng = rng
    this.#client = client
  }

  start(): void {
    this.#running = (async () => {
      while (!this.#stop) {
        if (this.#rng.next() < 0.25) {
          await this.#client.query('BEGIN')
          for (let i = this.#rng.int(2, 4); i > 0; i--) await this.#op()
          await this.#client.query('COMMIT')
        } else {
          await this.#op()
        }
        await new Promise((r) => setTimeout(r, writerPauseMs))
      }
    })()
  }

  async stop(): Promise<void> {
    this.#stop = true
    await this.#running
  }

  async #op(): Promise<void> {
    this.ops++
    const table = tables[this.#rng.int(0, 1)]!
    const id = this.#rng.int(1, this.#nextId)
    const kind = this.#rng.int(0, 9)
    const a = table === 'public.ka'
    if (kind < 2) {
      const fresh = this.#nextId++
      this.everInserted.set(table, this.everInserted.get(table)! + 1)
      if (a) await this.#client.query('INSERT INTO ka VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [fresh, `new ${fresh}`, fresh])
      else await this.#client.query('INSERT INTO kb VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [`k${fresh % 7}`, fresh, `new ${fresh}`])
    } else if (kind < 7) {
      if (a) await this.#client.query('UPDATE ka SET v = $2, n = n + 1 WHERE id = $1', [id, `upd ${this.ops}`])
      else await this.#client.query('UPDATE kb SET v = $2 WHERE n = $1', [id, `upd ${this.ops}`])
    } else if (kind < 9) {
      if (a) await this.#client.query('DELETE FROM ka WHERE id = $1', [id])
      else await this.#client.query('DELETE FROM kb WHERE n = $1', [id])
    } else {
      // A primary-key change: a delete of the old key and an insert of the new one for cairn.
      const moved = this.#nextId++
      this.everInserted.set(table, this.everInserted.get(table)! + 1)
      if (a) await this.#client.query('UPDATE ka SET id = $2 WHERE id = $1', [id, moved])
      else await this.#client.query('UPDATE kb SET n = $2 WHERE n = $1', [id, moved])
    }
  }
}

test(`SIGKILL of the ingester at random points (${rounds} rounds, concurrent writes, ${chunkRows}-row chunks): acks never pass what is durable, no finished chunk is read again, and it ends equal to Postgres`, async () => {
  const seed = testSeed()
  await withSeed(seed, async () => {
    const rng = seededRandom(seed)
    await pgc.query('CREATE TABLE ka (id int PRIMARY KEY, v text, n int)')
    await pgc.query(`INSERT INTO ka SELECT i, 'row ' || i, i FROM generate_series(1, ${rowsPerTable}) i`)
    await pgc.query('CREATE TABLE kb (k text, n int, v text, PRIMARY KEY (k, n))')
    await pgc.query(`INSERT INTO kb SELECT 'k' || (i % 7), i, 'row ' || i FROM generate_series(1, ${rowsPerTable}) i`)
    const data = `${tmp.path}/store`
    const client = await pgc.connect()
    const writer = new Writer(rng, client)
    writer.start()
    let kills = 0
    const startedMs = Date.now()
    let roundsMs = 0
    let killedWhileCopying = 0
    let killedWhileStreaming = 0
    let next: Run | undefined
    try {
      // Each child loads while the one before it runs: the kills land in the ingester, not in module loading.
      // Tiny chunks first; then random sizes, so later kills also land after the copy, in the stream alone.
      const chunksFor = (round: number): number => (round >= rounds ? finalChunkRows : round < rounds / 2 ? chunkRows : rng.int(chunkRows, 12 * chunkRows))
      next = startChild(data, chunksFor(0))
      let before: IngestMeta | undefined
      for (let round = 0; round < rounds; round++) {
        const chunksBefore = tables.reduce((n, t) => n + (before?.tables[t]?.chunksCopied ?? 0), 0)
        const run = next
        next = startChild(data, chunksFor(round + 1))
        await run.go()
        // Early rounds kill sooner (the copy of tiny chunks is under way), later ones anywhere.
        const afterMs = round < rounds / 2 ? rng.int(0, killAfterMsMax / 2) : rng.int(killAfterMsMax / 4, killAfterMsMax)
        await new Promise((r) => setTimeout(r, afterMs))
        run.child.kill('SIGKILL')
        await run.exited
        kills++
        // The walsender of the killed child is gone before its slot's position is read.
        await waitFor('the slot to be released', async () => (await pgc.query(`SELECT active FROM pg_replication_slots WHERE slot_name = 'cairn_pg'`)).rows[0]?.active !== true)
        const meta = await durable(data)
        const slot = (await pgc.query<{ confirmed: string }>(`SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = 'cairn_pg'`)).rows[0]
        if (slot !== undefined && meta?.sourceLsn !== undefined) {
          assert.ok(parseLsn(slot.confirmed) <= parseLsn(meta.sourceLsn), `round ${round}: the slot confirmed ${slot.confirmed}, past the durable source position ${meta.sourceLsn}`)
        }
        const chunksAfter = tables.reduce((n, t) => n + (meta?.tables[t]?.chunksCopied ?? 0), 0)
        const copying = tables.some((t) => meta?.tables[t]?.state !== 'done')
        if (copying) killedWhileCopying++
        else killedWhileStreaming++
        // Every chunk the run read became durable, except at most the one per table in flight at the kill.
        assert.ok(chunksOf(run) <= chunksAfter - chunksBefore + tables.length * chunksInFlightMax + rereadsPerRoundMax, `round ${round} (killed after ${afterMs} ms): read ${chunksOf(run)} chunks, ${chunksAfter - chunksBefore} became durable`)
        if (process.env.CAIRN_DEBUG !== undefined) console.log(`round ${round}: confirmed ${slot?.confirmed} durable ${meta?.sourceLsn}; killed after ${afterMs} ms, ${chunksOf(run)} chunks read, ${tables.map((t) => `${t} ${meta?.tables[t]?.state} ${meta?.tables[t]?.rowsCopied}`).join(', ')}`)
        before = meta
      }
      roundsMs = Date.now() - startedMs
      await writer.stop()
      // The last run goes to the end and stops cleanly; larger chunks from where the others left off keep it short.
      const final = next
      await final.go()
      // Past every change the writer made (not pg_current_wal_lsn(): see sourceProbe).
      const target = await sourceProbe(pgc)
      const caughtUp = (l: string): boolean => {
        if (!l.startsWith('status ')) return false
        const s = JSON.parse(l.slice(7)) as IngestStatus
        return s.sourceLsn !== undefined && parseLsn(s.sourceLsn) >= target && s.tables.every((t) => t.state === 'done')
      }
      await waitFor('the last run to catch up', () => {
        if (final.child.exitCode !== null) throw new Error(`the last run exited: ${final.lines.slice(-3).join(' | ')}`)
        return final.lines.some(caughtUp)
      }, 60_000)
      // Its SIGTERM handler is installed once start() resolves ('started'); progress reports, and
      // so the catch-up, can come before that.
      await final.wait(/^started$/)
      final.child.kill('SIGTERM')
      await final.wait(/^stopped$/)
      assert.equal(await final.exited, 0)
    } finally {
      if (next !== undefined && next.child.exitCode === null && next.child.signalCode === null) next.child.kill('SIGKILL')
      await writer.stop()
      await client.end()
    }
    const meta = await durable(data)
    for (const t of tables) {
      const progress = meta!.tables[t]!
      assert.equal(progress.state, 'done', t)
      // No row was copied twice: at most every id that ever existed, and chunks to match.
      const ever = writer.everInserted.get(t)!
      assert.ok(progress.rowsCopied <= ever, `${t}: ${progress.rowsCopied} rows copied, only ${ever} ever existed`)
      assert.ok(progress.chunksCopied <= Math.ceil(ever / chunkRows) + 1, `${t}: ${progress.chunksCopied} chunks for at most ${ever} rows`)
    }
    const store = await Store.open(data)
    try {
      const partition = await store.partition('pg')
      await assertSameRows(pgc.url, partition, tables)
    } finally {
      await store.close()
    }
    console.log(`seed ${seed}: ${kills} kills (${killedWhileCopying} during the copy, ${killedWhileStreaming} after it), ${writer.ops} writes; rounds ${roundsMs} ms, all ${Date.now() - startedMs} ms`)
    assert.ok(killedWhileCopying > 0, 'at least one kill landed during the copy')
  })
})
