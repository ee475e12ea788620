/**
 * The model test of the Log conformance suite: random appends (concurrent batches), reads,
 * trims, tails, expected-LSN appends and reopens run against a log and a plain array, which must
 * agree after every step. Seeded from CAIRN_SEED when set; a failure names the seed and
 * fast-check's replay path.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { OpenLog } from './log-conformance.js'
import { isCode, lsnsOf, range, readLog as readAll, recordFor, tagOf } from './log-records.js'

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

export async function modelTest(open: OpenLog): Promise<void> {
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
