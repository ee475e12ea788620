/**
 * The conformance suite of the `Log` interface (src/log/log.ts): every implementation (the file
 * log, the in-memory log, a log chain, ...) registers itself with `describeLogConformance` and
 * must pass all of it.
 *
 * The factory gives a fresh, empty log (starting at `startLsn` when given), optionally a
 * `reopen` that closes nothing itself but returns the same log opened again (after the suite
 * closed it), and a `cleanup`. The trim checks need a log whose trim unit (a segment) is small:
 * configure it to at most 8 KiB (or 64 records) of 100-byte records.
 *
 * The model test runs random operations against the log and a plain array; it takes its seed
 * from CAIRN_SEED when set and prints the seed (and fast-check's replay path) on failure.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { CairnError } from '../../src/io/index.js'
import type { Log, LogEntry, LogRecord } from '../../src/log/index.js'

export interface LogUnderTest {
  log: Log
  /** The same log opened again; the suite closes `log` first. */
  reopen?: () => Promise<Log>
  cleanup(): Promise<void>
}

export type OpenLog = (options: { startLsn?: number }) => Promise<LogUnderTest>

const enc = new TextEncoder()
const dec = new TextDecoder()

/** A record whose payload names its LSN and a tag (so reads can be checked against appends). */
export function recordFor(tag: string, lsn: number, bytes = 100): LogRecord {
  const text = `${tag}:${lsn}:`
  const payload = new Uint8Array(Math.max(bytes, text.length))
  payload.set(enc.encode(text))
  return { type: 1, payload }
}

function tagOf(entry: LogEntry): string {
  const text = dec.decode(entry.payload)
  return text.split(':')[0]!
}

async function readAll(log: Log, from: number, to?: number): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  for await (const e of log.read(from, to)) out.push(e)
  return out
}

const lsnsOf = (entries: LogEntry[]): number[] => entries.map((e) => e.lsn)
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
const isCode = (code: string) => (e: unknown) => (e as CairnError).code === code

/** Appends `count` single-record batches concurrently, tagged `tag`; resolves with their last LSNs. */
async function appendMany(log: Log, tag: string, count: number, bytes = 100): Promise<number[]> {
  const first = log.nextLsn
  return Promise.all(range(first, first + count - 1).map((lsn) => log.append([recordFor(tag, lsn, bytes)])))
}

async function withLog(open: OpenLog, options: { startLsn?: number }, body: (t: LogUnderTest) => Promise<void>): Promise<void> {
  const t = await open(options)
  try {
    await body(t)
  } finally {
    await t.log.close().catch(() => undefined)
    await t.cleanup()
  }
}

export function describeLogConformance(name: string, open: OpenLog): void {
  describe(`Log conformance: ${name}`, () => {
    test('a new log is empty at its start LSN, and appends take dense LSNs from there', async () => {
      for (const startLsn of [1, 1001]) {
        await withLog(open, { startLsn }, async ({ log }) => {
          assert.equal(log.firstLsn, startLsn)
          assert.equal(log.lastLsn, startLsn - 1)
          assert.equal(log.nextLsn, startLsn)
          assert.equal(log.sealed, false)
          assert.equal(await log.append([recordFor('a', startLsn)]), startLsn)
          assert.equal(await log.append([recordFor('a', startLsn + 1), recordFor('a', startLsn + 2)]), startLsn + 2)
          const concurrent = await appendMany(log, 'a', 40)
          assert.deepEqual(concurrent, range(startLsn + 3, startLsn + 42))
          assert.equal(log.lastLsn, startLsn + 42)
          assert.equal(log.nextLsn, startLsn + 43)
          assert.ok(log.syncedLsn <= log.lastLsn && log.syncedLsn >= log.firstLsn - 1)
          const entries = await readAll(log, startLsn)
          assert.deepEqual(lsnsOf(entries), range(startLsn, startLsn + 42))
          for (const e of entries) assert.equal(dec.decode(e.payload).split(':')[1], String(e.lsn), 'payload read back at its LSN')
        })
      }
    })

    test('an append takes its LSNs when called; onDurable runs in LSN order before each append resolves', async () => {
      await withLog(open, {}, async ({ log }) => {
        const calls: number[] = []
        const promises = range(1, 30).map((i) => {
          const records = Array.from({ length: (i % 3) + 1 }, (_, j) => recordFor('d', i * 10 + j))
          const first = log.nextLsn
          const p = log.append(records, {
            onDurable: (last) => {
              assert.equal(last, first + records.length - 1)
              assert.ok(log.lastLsn >= last, 'lastLsn covers a batch when its onDurable runs')
              calls.push(last)
            },
          })
          return p.then((last) => {
            assert.equal(last, first + records.length - 1)
            assert.ok(calls.includes(last), 'onDurable ran before the append resolved')
            return last
          })
        })
        const lasts = await Promise.all(promises)
        assert.deepEqual(calls, lasts)
        assert.deepEqual([...calls].sort((a, b) => a - b), calls, 'onDurable in LSN order')
        assert.equal(log.syncedLsn, log.lastLsn, 'after sync durability, every acknowledged LSN is durable')
      })
    })

    test('expectedLsn: the right LSN is taken, a wrong one is LSN_MISMATCH and writes nothing', async () => {
      await withLog(open, {}, async ({ log }) => {
        await appendMany(log, 'e', 3)
        assert.equal(await log.append([recordFor('e', 4)], { expectedLsn: 4 }), 4)
        for (const wrong of [1, 4, 6, 100]) {
          await assert.rejects(async () => log.append([recordFor('x', wrong)], { expectedLsn: wrong }), isCode('LSN_MISMATCH'))
        }
        assert.equal(log.lastLsn, 4)
        assert.equal(log.nextLsn, 5)
        assert.equal(await log.append([recordFor('e', 5)], { expectedLsn: 5 }), 5)
        // A batch queued behind another: its expected LSN counts the one before.
        const a = log.append([recordFor('e', 6), recordFor('e', 7)], { expectedLsn: 6 })
        const b = log.append([recordFor('e', 8)], { expectedLsn: 8 })
        assert.deepEqual(await Promise.all([a, b]), [7, 8])
        assert.deepEqual(lsnsOf(await readAll(log, 1)), range(1, 8))
        assert.ok((await readAll(log, 1)).every((e) => tagOf(e) === 'e'), 'no refused record was written')
      })
    })

    test('reads start at any LSN, stop at toLsn or the end, and refuse bad bounds', async () => {
      await withLog(open, { startLsn: 10 }, async ({ log }) => {
        await appendMany(log, 'r', 50)
        const last = log.lastLsn
        assert.equal(last, 59)
        for (const from of [10, 11, 33, 59]) assert.deepEqual(lsnsOf(await readAll(log, from)), range(from, last))
        assert.deepEqual(await readAll(log, 60), [], 'from past the end: nothing')
        assert.deepEqual(await readAll(log, 1000), [])
        assert.deepEqual(lsnsOf(await readAll(log, 20, 25)), range(20, 25))
        assert.deepEqual(lsnsOf(await readAll(log, 20, 20)), [20])
        assert.deepEqual(await readAll(log, 20, 19), [], 'toLsn below fromLsn: nothing')
        assert.deepEqual(lsnsOf(await readAll(log, 50, 10_000)), range(50, last), 'toLsn past the end stops at the end')
        const batched: number[] = []
        for await (const batch of log.readBatches(15, 40)) {
          assert.ok(batch.length > 0, 'no empty batch')
          batched.push(...lsnsOf(batch))
        }
        assert.deepEqual(batched, range(15, 40))
        await assert.rejects(readAll(log, 0), isCode('INVALID_ARGUMENT'))
        await assert.rejects(readAll(log, 1.5), isCode('INVALID_ARGUMENT'))
      })
    })

    test('trim removes only records below its argument; reading below the first LSN is LSN_TRIMMED', async () => {
      await withLog(open, {}, async ({ log }) => {
        // Many small trim units (see the header): trimming up to the end removes some.
        await appendMany(log, 't', 400)
        let floor = 1
        for (const below of [1, 37, 150, 150, 399, 10]) {
          const first = await log.trim(below)
          assert.equal(first, log.firstLsn)
          floor = Math.max(floor, below)
          assert.ok(first <= floor, `trim(${below}) kept every LSN from ${floor} (first ${first})`)
          assert.deepEqual(lsnsOf(await readAll(log, floor)), range(floor, 400))
          assert.deepEqual(lsnsOf(await readAll(log, first)), range(first, 400))
        }
        assert.ok(log.firstLsn > 1, `trim(399) removed something (first ${log.firstLsn}): use small trim units`)
        await assert.rejects(readAll(log, 1), isCode('LSN_TRIMMED'))
        await assert.rejects(readAll(log, log.firstLsn - 1), isCode('LSN_TRIMMED'))
        assert.equal(log.lastLsn, 400)
        assert.equal(await log.append([recordFor('t', 401)]), 401, 'appends go on after a trim')
      })
    })

    test('tail yields what is there, then later appends, and ends when its signal aborts', async () => {
      await withLog(open, {}, async ({ log }) => {
        await appendMany(log, 'f', 5)
        const ac = new AbortController()
        const seen: number[] = []
        const done = (async () => {
          for await (const e of log.tail(3, { signal: ac.signal })) {
            seen.push(e.lsn)
            if (e.lsn === 12) ac.abort()
          }
        })()
        for (let i = 6; i <= 12; i++) await log.append([recordFor('f', i)])
        await done
        assert.deepEqual(seen, range(3, 12))
        // A tail waiting for records that never come ends on abort.
        const idle = new AbortController()
        const waiting = (async () => {
          const got: number[] = []
          for await (const e of log.tail(log.nextLsn, { signal: idle.signal })) got.push(e.lsn)
          return got
        })()
        await new Promise((resolve) => setTimeout(resolve, 20))
        idle.abort()
        assert.deepEqual(await waiting, [])
      })
    })

    test('a tail waiting for records ends when the log closes', async () => {
      await withLog(open, {}, async ({ log }) => {
        await appendMany(log, 'c', 2)
        const seen: number[] = []
        const done = (async () => {
          for await (const e of log.tail(1)) seen.push(e.lsn)
        })()
        await new Promise((resolve) => setTimeout(resolve, 20))
        await log.close()
        await done
        assert.deepEqual(seen, [1, 2])
      })
    })

    test('seal: queued appends land, later ones are LOG_SEALED, the end is final, tails end at it', async () => {
      await withLog(open, { startLsn: 5 }, async (t) => {
        const { log } = t
        await appendMany(log, 's', 3)
        const tailed: number[] = []
        const tail = (async () => {
          for await (const e of log.tail(5)) tailed.push(e.lsn)
        })()
        const queued = appendMany(log, 's', 20)
        const sealing = log.seal()
        assert.equal(log.sealed, true, 'sealed from the call on')
        await assert.rejects(async () => log.append([recordFor('late', 0)]), isCode('LOG_SEALED'))
        assert.deepEqual(await queued, range(8, 27), 'appends queued before the seal resolve')
        await sealing
        await log.seal()
        assert.equal(log.lastLsn, 27)
        assert.equal(log.syncedLsn, 27, 'a sealed log is durable to its end')
        await log.sync()
        await assert.rejects(async () => log.append([recordFor('late', 0)]), isCode('LOG_SEALED'))
        await tail
        assert.deepEqual(tailed, range(5, 27), 'a tail of a sealed log ends after its last record')
        const fromEnd: number[] = []
        for await (const e of log.tail(28)) fromEnd.push(e.lsn)
        assert.deepEqual(fromEnd, [], 'a tail past the end of a sealed log ends at once')
        assert.deepEqual(lsnsOf(await readAll(log, 5)), range(5, 27))
        const cut = log.cut()
        assert.equal(cut.lastLsn, 27)
        if (t.reopen !== undefined) {
          await log.close()
          const again = await t.reopen()
          try {
            assert.equal(again.lastLsn, 27)
            assert.deepEqual(lsnsOf(await readAll(again, 5)), range(5, 27))
          } finally {
            await again.close()
          }
        }
      })
    })

    test('cut: the acknowledged end at the call, captured synchronously while appends run', async () => {
      await withLog(open, {}, async ({ log }) => {
        await appendMany(log, 'k', 10)
        const empty = log.cut()
        assert.equal(empty.firstLsn, log.firstLsn)
        assert.equal(empty.lastLsn, 10)
        const acknowledged = new Set<number>()
        const running = range(1, 64).map(() => log.append([recordFor('k', 0)]).then((lsn) => acknowledged.add(lsn)))
        const cuts = []
        for (let i = 0; i < 20; i++) {
          const before = new Set(acknowledged)
          const cut = log.cut()
          assert.ok(cut.lastLsn <= log.lastLsn && cut.lastLsn >= 10)
          for (const lsn of before) assert.ok(lsn <= cut.lastLsn, `LSN ${lsn} acknowledged before the cut is in it`)
          for (const file of cut.files) assert.ok(file.bytes > 0 && file.firstLsn <= cut.lastLsn + 1)
          assert.deepEqual(
            cut.files.map((f) => f.firstLsn),
            [...cut.files.map((f) => f.firstLsn)].sort((a, b) => a - b),
          )
          cuts.push(cut)
          await new Promise((resolve) => setImmediate(resolve))
        }
        await Promise.all(running)
        assert.equal(log.cut().lastLsn, 74)
      })
    })

    test('close is idempotent, and a closed log takes no append', async () => {
      await withLog(open, {}, async ({ log }) => {
        await appendMany(log, 'z', 3)
        await Promise.all([log.close(), log.close()])
        await log.close()
        await assert.rejects(async () => log.append([recordFor('z', 4)]), isCode('CLOSED'))
      })
    })

    test('a reopen keeps every acknowledged record and goes on from the next LSN', async () => {
      await withLog(open, { startLsn: 7 }, async (t) => {
        await appendMany(t.log, 'o', 30)
        await t.log.append([recordFor('o', 37), recordFor('o', 38)])
        await t.log.close()
        // Without a reopen, what the closed log reports must still hold.
        const again = t.reopen === undefined ? t.log : await t.reopen()
        try {
          assert.equal(again.firstLsn, 7)
          assert.equal(again.lastLsn, 38)
          assert.equal(again.nextLsn, 39)
          assert.equal(again.syncedLsn, 38)
          if (again !== t.log) assert.deepEqual(lsnsOf(await readAll(again, 7)), range(7, 38))
          if (again !== t.log) assert.equal(await again.append([recordFor('o', 39)]), 39)
        } finally {
          await again.close()
        }
      })
    })

    test('model: random appends, reads, trims, tails and reopens agree with an array', async () => {
      await modelTest(open)
    })
  })
}

type Op =
  | { kind: 'append'; batches: number[] }
  | { kind: 'read'; from: number; to: number | undefined }
  | { kind: 'trim'; below: number }
  | { kind: 'tail'; from: number }
  | { kind: 'expect'; offset: number }
  | { kind: 'reopen' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), batches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), from: fc.integer({ min: 0, max: 140 }), to: fc.option(fc.integer({ min: 0, max: 140 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trim' as const), below: fc.integer({ min: 0, max: 160 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tail' as const), from: fc.integer({ min: 0, max: 140 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expect' as const), offset: fc.integer({ min: -2, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
)

async function modelTest(open: OpenLog): Promise<void> {
  const seed = process.env.CAIRN_SEED !== undefined ? Number(process.env.CAIRN_SEED) : Math.floor(Math.random() * 2 ** 31)
  const runs = Number(process.env.CAIRN_MODEL_RUNS ?? 25)
  const result = await fc.check(
    fc.asyncProperty(fc.integer({ min: 1, max: 20 }), fc.array(opArb, { minLength: 1, maxLength: 30 }), async (startLsn, ops) => {
      await runModel(open, startLsn, ops)
    }),
    { seed, numRuns: runs },
  )
  if (result.failed) {
    throw new Error(
      `log model failed with CAIRN_SEED=${seed} (fast-check path ${result.counterexamplePath}): ${String(result.errorInstance)}\n${fc.defaultReportMessage(result)}`,
      { cause: result.errorInstance },
    )
  }
}

async function runModel(open: OpenLog, startLsn: number, ops: Op[]): Promise<void> {
  const t = await open({ startLsn })
  let log = t.log
  /** Payload tags of every acknowledged LSN from startLsn on (trimmed ones too). */
  const model: string[] = []
  let floor = startLsn
  const lastOf = (): number => startLsn + model.length - 1
  const check = async (from: number, to?: number): Promise<void> => {
    const last = Math.min(to ?? lastOf(), lastOf())
    if (from < 1) {
      await assert.rejects(readAll(log, from, to), isCode('INVALID_ARGUMENT'))
      return
    }
    if (from < log.firstLsn && from <= last) {
      await assert.rejects(readAll(log, from, to), isCode('LSN_TRIMMED'))
      return
    }
    const got = await readAll(log, from, to)
    const want = range(Math.max(from, log.firstLsn), last)
    assert.deepEqual(lsnsOf(got), want, `read(${from}, ${to})`)
    for (const e of got) assert.equal(tagOf(e), model[e.lsn - startLsn], `payload at LSN ${e.lsn}`)
  }
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'append': {
          const appends = op.batches.map((n) => {
            const first = log.nextLsn
            const tags = range(first, first + n - 1).map((lsn) => `m${lsn}`)
            return log.append(tags.map((tag, i) => recordFor(tag, first + i, 20))).then((last) => {
              assert.equal(last, first + n - 1)
              return tags
            })
          })
          for (const tags of await Promise.all(appends)) model.push(...tags)
          break
        }
        case 'read':
          await check(op.from, op.to)
          break
        case 'trim': {
          const first = await log.trim(op.below)
          floor = Math.max(floor, Math.min(op.below, lastOf() + 1))
          assert.ok(first <= floor, `trim(${op.below}) removed LSNs at or above ${floor} (first ${first})`)
          assert.ok(first >= startLsn)
          break
        }
        case 'tail': {
          const target = log.nextLsn
          const from = Math.min(Math.max(op.from, log.firstLsn), target)
          const ac = new AbortController()
          const got: number[] = []
          const extra = `m${target}`
          const tailed = log
          const done = (async () => {
            for await (const e of tailed.tail(from, { signal: ac.signal })) {
              got.push(e.lsn)
              if (e.lsn >= target) ac.abort()
            }
          })()
          const lsn = await log.append([recordFor(extra, log.nextLsn, 20)])
          model.push(extra)
          assert.equal(lsn, lastOf())
          await done
          assert.deepEqual(got, range(from, lastOf()))
          break
        }
        case 'expect': {
          const expected = log.nextLsn + op.offset
          if (op.offset === 0) {
            const tag = `m${expected}`
            assert.equal(await log.append([recordFor(tag, expected, 20)], { expectedLsn: expected }), expected)
            model.push(tag)
          } else if (expected >= 1) {
            await assert.rejects(async () => log.append([recordFor('bad', expected, 20)], { expectedLsn: expected }), isCode('LSN_MISMATCH'))
          }
          break
        }
        case 'reopen': {
          if (t.reopen === undefined) break
          await log.close()
          log = await t.reopen()
          t.log = log
          break
        }
      }
      assert.equal(log.lastLsn, lastOf())
      assert.equal(log.nextLsn, lastOf() + 1)
      assert.ok(log.firstLsn <= floor && log.firstLsn >= startLsn)
      assert.ok(log.syncedLsn <= log.lastLsn)
    }
    await check(log.firstLsn)
  } finally {
    await t.log.close().catch(() => undefined)
    await t.cleanup()
  }
}
