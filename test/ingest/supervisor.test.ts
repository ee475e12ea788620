/**
 * `superviseIngest`: restarts after the ingester's connections are terminated (mid-copy and
 * mid-stream, under writers) and ends equal to Postgres; ends without a restart on a permanent
 * error (the slot dropped); `stop()` during the wait for a restart; and the backoff (an injected
 * clock: delays grow, are capped, and reset after a long healthy run).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type IngestStatus, restartDelayMs, restartDelayMsMax, restartDelayMsMin, restartResetMsMin, type SupervisedIngester, type SupervisorClock, superviseIngest } from '../../src/ingest/index.js'
import { decodePgoutput } from '../../src/ingest/postgres/pgoutput.js'
import { CairnError } from '../../src/io/index.js'
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

/** Ends every session of the ingester (control, stream, copies), waiting until they are gone. */
async function terminateIngester(): Promise<number> {
  const r = await pg.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name LIKE 'cairn-ingest%' AND pid <> pg_backend_pid()) x`,
  )
  return Number(r.rows[0]!.n)
}

test('connections terminated mid-copy and mid-stream, under writers: the supervisor restarts and cairn ends equal to Postgres', async () => {
  const seed = testSeed()
  await withSeed(seed, async () => {
    await pg.query('CREATE TABLE r (id int PRIMARY KEY, v int, s text)')
    await pg.query('CREATE TABLE r2 (a int, b int, v int, PRIMARY KEY (a, b))')
    await pg.query(`INSERT INTO r SELECT i, i, 's' || i FROM generate_series(1, 3000) i`)
    await pg.query(`INSERT INTO r2 SELECT i % 7, i, i FROM generate_series(1, 1500) i`)
    const store = await Store.open(`${dir.path}/kill`, { create: true })
    const restarts: string[] = []
    const ingest = superviseIngest({
      url: pg.url,
      store,
      partition: 'kill',
      tables: ['r', 'r2'],
      chunkRows: 100,
      copyParallelism: 1,
      hooks: { afterChunkRead: () => new Promise((r) => setTimeout(r, 5)) },
      onRestart: ({ error }) => restarts.push(error.code),
    })
    const workload = await startWorkload(pg.url, seed)
    try {
      await waitFor('some rows copied', () => ingest.status().tables.some((t) => t.rowsCopied >= 300))
      assert.ok((await terminateIngester()) >= 1, 'the ingester had sessions to end')
      await waitFor('a restart', () => ingest.status().restarts! >= 1 && ingest.status().phase === 'streaming', 30_000)
      await new Promise((r) => setTimeout(r, 200))
      const before = ingest.status().restarts!
      assert.ok((await terminateIngester()) >= 1)
      await waitFor('a second restart', () => ingest.status().restarts! > before && ingest.status().phase === 'streaming', 30_000)
    } finally {
      await workload.stop()
    }
    assert.ok(workload.ops() > 0)
    // waitCaughtUp fails on phase 'failed'; the supervisor reports failed only when it gave up.
    await waitCaughtUp(ingest as never, pg.url)
    assert.ok(restarts.length >= 2, `restarts: ${restarts.join(', ')}`)
    assert.ok(restarts.every((c) => c === 'SOURCE_UNAVAILABLE'), restarts.join(', '))
    const partition = await store.partition('kill')
    await assertSameRows(pg.url, partition, ['public.r', 'public.r2'])
    await ingest.stop()
    await ingest.done
    assert.equal(ingest.status().phase, 'stopped')
    await store.close()
  })
})

test('the slot dropped while running: done rejects with SOURCE_SLOT_LOST and nothing restarts', async () => {
  await pg.query('CREATE TABLE t (id int PRIMARY KEY)')
  await pg.query('INSERT INTO t SELECT generate_series(1, 10)')
  const store = await Store.open(`${dir.path}/lost`, { create: true })
  let restarted = 0
  const ingest = superviseIngest({ url: pg.url, store, partition: 'lost', tables: ['t'], onRestart: () => restarted++ })
  await waitCaughtUp(ingest as never, pg.url)
  await pg.query(`DO $$ BEGIN
    PERFORM pg_terminate_backend(active_pid, 10000) FROM pg_replication_slots WHERE slot_name = 'cairn_lost';
    PERFORM pg_drop_replication_slot('cairn_lost');
  END $$`)
  await assert.rejects(ingest.done, (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_SLOT_LOST')
  assert.equal(restarted, 0)
  assert.equal(ingest.status().restarts, 0)
  assert.equal(ingest.status().phase, 'failed')
  assert.equal(ingest.status().error?.code, 'SOURCE_SLOT_LOST')
  await ingest.stop()
  await store.close()
})

/** A clock whose sleeps are recorded and end only when released (or aborted). */
function manualClock(): SupervisorClock & { sleeps: number[]; nowMs: number; release(): void } {
  let wake: (() => void) | undefined
  const clock = {
    sleeps: [] as number[],
    nowMs: 0,
    now: () => clock.nowMs,
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        clock.sleeps.push(ms)
        const onAbort = (): void => resolve()
        signal.addEventListener('abort', onAbort, { once: true })
        wake = () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      }),
    release: () => wake?.(),
  }
  return clock
}

const unavailable = () => new CairnError('SOURCE_UNAVAILABLE', 'Postgres is unavailable: connect ECONNREFUSED')

/** A fake ingester that fails with `error` after `runMs` of the manual clock (or runs until stopped). */
function fakeIngester(clock: { nowMs: number }, counts: { stops: number }, error?: unknown, runMs = 0): SupervisedIngester {
  let reject!: (e: unknown) => void
  let resolve!: () => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  done.catch(() => undefined)
  let phase: IngestStatus['phase'] = 'streaming'
  if (error !== undefined) {
    queueMicrotask(() => {
      clock.nowMs += runMs
      phase = 'failed'
      reject(error)
    })
  }
  return {
    done,
    status: () => ({ partition: 'p', slot: 's', publication: 'p', phase, tables: [] }),
    stop: async () => {
      counts.stops++
      phase = 'stopped'
      resolve()
    },
  }
}

test('backoff: delays double from restartDelayMsMin, are capped at restartDelayMsMax, and reset after a long healthy run', async () => {
  // Without jitter's random half: the base itself (random 1 → base, random 0 → base / 2).
  assert.equal(restartDelayMs(1, () => 1), restartDelayMsMin)
  assert.equal(restartDelayMs(1, () => 0), restartDelayMsMin / 2)
  assert.equal(restartDelayMs(40, () => 1), restartDelayMsMax)
  assert.equal(restartDelayMs(1000, () => 0.999), Math.round(restartDelayMsMax / 2 + (restartDelayMsMax / 2) * 0.999))

  const clock = manualClock()
  const counts = { stops: 0 }
  let starts = 0
  const runs: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, restartResetMsMin, 0]
  const ingest = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    clock,
    random: () => 1,
    attemptsMax: 100,
    startIngester: async () => {
      const i = starts++
      if (i === 0) throw unavailable() // the start itself fails: retried the same way
      if (i < runs.length) return fakeIngester(clock, counts, unavailable(), runs[i])
      return fakeIngester(clock, counts)
    },
  })
  for (let k = 1; k <= runs.length; k++) {
    await waitFor(`sleep ${k}`, () => clock.sleeps.length === k)
    assert.equal(ingest.status().phase, 'restarting')
    assert.ok(ingest.status().nextAttemptAtMs! >= clock.nowMs)
    clock.release()
  }
  await waitFor('the last ingester running', () => ingest.status().phase === 'streaming')
  const d = clock.sleeps
  for (let i = 1; i < 10; i++) assert.ok(d[i]! >= d[i - 1]!, `delays grow: ${d.join(', ')}`)
  assert.equal(d[0], restartDelayMsMin)
  assert.equal(d[1], 2 * restartDelayMsMin)
  assert.equal(Math.max(...d), restartDelayMsMax)
  assert.equal(d[9], restartDelayMsMax)
  // The 11th run lasted restartResetMsMin: its failure waits restartDelayMsMin again.
  assert.equal(d[10], restartDelayMsMin)
  assert.equal(d[11], 2 * restartDelayMsMin)
  assert.equal(ingest.status().restarts, runs.length)
  assert.equal(counts.stops, 0, 'failed ingesters are not stopped again')
  await ingest.stop()
  await ingest.done
  assert.equal(counts.stops, 1)
  assert.equal(ingest.status().phase, 'stopped')
})

test('stop() while waiting to restart returns without waiting out the delay, starts nothing more and stops nothing twice', async () => {
  const clock = manualClock()
  const counts = { stops: 0 }
  let starts = 0
  const ingest = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    clock,
    startIngester: async () => {
      starts++
      return fakeIngester(clock, counts, unavailable())
    },
  })
  await waitFor('waiting to restart', () => ingest.status().phase === 'restarting')
  assert.equal(ingest.status().error?.code, 'SOURCE_UNAVAILABLE')
  await ingest.stop() // the manual clock never wakes on its own: only the abort ends the wait
  await ingest.done
  await ingest.stop() // twice is fine
  assert.equal(starts, 1)
  assert.equal(counts.stops, 0)
  assert.equal(ingest.status().phase, 'stopped')
})

test('a permanent error at start ends the supervisor at once; attemptsMax bounds transient ones', async () => {
  const clock = manualClock()
  const misconfigured = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    clock,
    startIngester: async () => {
      throw new CairnError('SOURCE_MISCONFIGURED', 'wal_level is replica')
    },
  })
  await assert.rejects(misconfigured.done, (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_MISCONFIGURED')
  assert.equal(clock.sleeps.length, 0)
  const store = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    clock,
    startIngester: async () => fakeIngester(clock, { stops: 0 }, new CairnError('LOG_FAILED', 'the log failed')),
  })
  await assert.rejects(store.done, (e: unknown) => e instanceof CairnError && e.code === 'LOG_FAILED')
  assert.equal(clock.sleeps.length, 0)
  let starts = 0
  const bounded = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    clock: { now: () => 0, sleep: async () => undefined },
    attemptsMax: 3,
    startIngester: async () => {
      starts++
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    },
  })
  await assert.rejects(bounded.done, (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_UNAVAILABLE' && /ECONNREFUSED/.test(e.message))
  assert.equal(starts, 3)
  assert.equal(bounded.status().phase, 'failed')
})

test('a malformed pgoutput message ends the supervisor at once with SOURCE_PROTOCOL: a protocol defect is not retried', async () => {
  let decodeError: unknown
  try {
    decodePgoutput(Uint8Array.from([0x55, 0, 0, 0, 1, 0x58])) // an update with submessage 'X'
  } catch (e) {
    decodeError = e
  }
  let starts = 0
  const restarts: string[] = []
  const ingest = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    // Retried at once and bounded, so a supervisor that retries it ends rather than hangs.
    clock: { now: () => 0, sleep: async () => undefined },
    attemptsMax: 3,
    onRestart: ({ error }) => restarts.push(error.code),
    startIngester: async () => {
      starts++
      return fakeIngester({ nowMs: 0 }, { stops: 0 }, decodeError)
    },
  })
  await assert.rejects(ingest.done, (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_PROTOCOL')
  assert.equal(starts, 1)
  assert.deepEqual(restarts, [])
  assert.equal(ingest.status().phase, 'failed')
  assert.equal(ingest.status().error?.code, 'SOURCE_PROTOCOL')
})

test('startAttemptsMax bounds only the first start: once an ingester ran, transient failures restart it without that bound', async () => {
  const noWait: SupervisorClock = { now: () => 0, sleep: async () => undefined }
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
  let starts = 0
  const gaveUp = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    clock: noWait,
    startAttemptsMax: 2,
    startIngester: async () => {
      if (++starts <= 2) throw refused()
      return fakeIngester({ nowMs: 0 }, { stops: 0 })
    },
  })
  await assert.rejects(gaveUp.done, (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_UNAVAILABLE')
  assert.equal(starts, 2)

  starts = 0
  const counts = { stops: 0 }
  const clock = { nowMs: 0 }
  const ran = superviseIngest({
    url: 'postgres://unused',
    store: undefined as never,
    clock: noWait,
    startAttemptsMax: 3,
    startIngester: async () => {
      starts++
      if (starts <= 2) throw refused()
      // Then five quick transient failures (more than startAttemptsMax), then it runs.
      return starts <= 7 ? fakeIngester(clock, counts, unavailable()) : fakeIngester(clock, counts)
    },
  })
  await waitFor('running', () => ran.status().phase === 'streaming')
  assert.equal(starts, 8)
  assert.equal(ran.status().restarts, 7)
  await ran.stop()
  await ran.done
})
