/**
 * Trim holds: a trim never removes a record at or above a held LSN (the floor is min(state
 * durable + 1, every hold)), `info()` lists the holds, a release is idempotent. A model-based
 * run of random writes, flushes, holds, releases and trims against the set of holds; the seed
 * comes from CAIRN_SEED and a failure names it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { assertProperty } from '../helpers/seed.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
// Small segments, so trims remove something: each put takes a ~150-byte frame.
const options = (fs: MemoryFileSystem) => ({ fs, segmentBytesMax: 4096, memtableBytesMax: 4096 })

interface Hold {
  who: string
  fromLsn: number
  release: () => void
  released: boolean
}
interface Model {
  holds: Hold[]
}
interface Real {
  p: Partition
}
type Cmd = fc.AsyncCommand<Model, Real>
/** Trims that removed something: the property would hold vacuously if none did. */
let trimsThatRemoved = 0

/** What must hold after every command. */
async function check(m: Model, p: Partition): Promise<void> {
  const live = m.holds.filter((h) => !h.released)
  const info = p.info()
  assert.deepEqual(
    info.trimHolds,
    live.map(({ who, fromLsn }) => ({ who, fromLsn })),
    'info lists the live holds, oldest first',
  )
  assert.equal(p.trimFloor, Math.min(p.durableLsn + 1, ...live.map((h) => h.fromLsn)), 'the floor is min(durable + 1, holds)')
  assert.equal(info.trimFloor, p.trimFloor)
  for (const h of live) assert.ok(p.firstLsn <= h.fromLsn, `the log still starts at or below the hold of ${h.who} (${h.fromLsn}); it starts at ${p.firstLsn}`)
  // Everything from the lowest hold on is still readable, densely.
  const from = Math.min(p.lastLsn + 1, ...live.map((h) => h.fromLsn))
  let next = from
  for await (const e of p.read({ fromLsn: from })) assert.equal(e.lsn, next++)
  assert.equal(next, p.lastLsn + 1)
}

class Write implements Cmd {
  constructor(readonly n: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    for (let i = 0; i < this.n; i++) await r.p.put(`k${r.p.lastLsn % 50}`, 'v'.repeat(100))
    await check(m, r.p)
  }
  toString = () => `write(${this.n})`
}
class Flush implements Cmd {
  check = () => true
  async run(m: Model, r: Real) {
    await r.p.flush()
    await check(m, r.p)
  }
  toString = () => 'flush'
}
class HoldAt implements Cmd {
  /** `at` in [0, 1]: where between the log's first LSN and its next LSN + 2 to hold. */
  constructor(readonly at: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    const lo = r.p.firstLsn
    const fromLsn = lo + Math.floor(this.at * (r.p.lastLsn + 3 - lo))
    const who = `holder ${m.holds.length}`
    m.holds.push({ who, fromLsn, release: r.p.holdTrim(fromLsn, who), released: false })
    await check(m, r.p)
  }
  toString = () => `hold(${this.at.toFixed(2)})`
}
class HoldTrimmed implements Cmd {
  check = (m: Model) => m.holds.length > 0
  async run(m: Model, r: Real) {
    if (r.p.firstLsn > 1) assert.throws(() => r.p.holdTrim(r.p.firstLsn - 1, 'late'), isCode('LSN_TRIMMED'))
    await check(m, r.p)
  }
  toString = () => 'holdBelowFirst'
}
class Release implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Model) => m.holds.length > 0
  async run(m: Model, r: Real) {
    const h = m.holds[this.pick % m.holds.length]!
    // Releasing twice (or a released hold again) is harmless.
    h.release()
    h.release()
    h.released = true
    await check(m, r.p)
  }
  toString = () => `release(${this.pick})`
}
class Trim implements Cmd {
  /** `below` in [0, 1]: where between 1 and the next LSN + 1 to ask the trim for. */
  constructor(readonly below: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    const belowLsn = 1 + Math.floor(this.below * (r.p.lastLsn + 2))
    const floor = r.p.trimFloor
    const before = r.p.firstLsn
    const first = await r.p.trim(belowLsn)
    if (first > before) trimsThatRemoved++
    assert.ok(first <= Math.max(before, Math.min(belowLsn, floor)), `trim(${belowLsn}) with floor ${floor} left the log at ${first}`)
    await check(m, r.p)
  }
  toString = () => `trim(${this.below.toFixed(2)})`
}

const unit = fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000)
const commands = [
  fc.integer({ min: 1, max: 60 }).map((n) => new Write(n)),
  fc.integer({ min: 1, max: 60 }).map((n) => new Write(n)),
  fc.constant(new Flush()),
  unit.map((at) => new HoldAt(at)),
  fc.constant(new HoldTrimmed()),
  fc.nat().map((pick) => new Release(pick)),
  unit.map((below) => new Trim(below)),
  unit.map((below) => new Trim(below)),
]

test('trims never remove a held record; info lists the holds; releases are idempotent (model, random)', async () => {
  await assertProperty(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: '+1' }), async (cmds) => {
      const store = await Store.open('/data', options(new MemoryFileSystem()))
      const real: Real = { p: await store.ensurePartition('p') }
      try {
        await fc.asyncModelRun(() => ({ model: { holds: [] }, real }), cmds)
      } finally {
        await store.close()
      }
    }),
    { numRuns: Number(process.env.CAIRN_MODEL_RUNS ?? 60) },
  )
  assert.ok(trimsThatRemoved > 0, 'some trims removed segments')
})

test('a hold keeps the segments a trim would remove, and its release lets the next trim take them', async () => {
  const store = await Store.open('/data', options(new MemoryFileSystem()))
  try {
    const p = await store.ensurePartition('p')
    for (let i = 0; i < 200; i++) await p.put(`k${i}`, 'v'.repeat(100))
    await p.flush()
    const release = p.holdTrim(10, 'backup 1')
    const second = p.holdTrim(150, 'follower eu-1')
    assert.deepEqual(p.info().trimHolds, [
      { who: 'backup 1', fromLsn: 10 },
      { who: 'follower eu-1', fromLsn: 150 },
    ])
    assert.equal(await p.trim(p.lastLsn + 1), 1, 'nothing below LSN 10 is a whole segment: the log keeps LSN 1..')
    release()
    release()
    assert.deepEqual(p.info().trimHolds, [{ who: 'follower eu-1', fromLsn: 150 }])
    const first = await p.trim(p.lastLsn + 1)
    assert.ok(first > 10 && first <= 150, `the next trim stops at the remaining hold (log starts at ${first})`)
    second()
    assert.ok((await p.trim(p.lastLsn + 1)) > 150, 'with no hold the trim goes up to the state floor')
    assert.throws(() => p.holdTrim(0, 'x'), isCode('INVALID_ARGUMENT'))
    assert.throws(() => p.holdTrim(p.lastLsn, ''), isCode('INVALID_ARGUMENT'))
    assert.throws(() => p.holdTrim(1, 'x'), isCode('LSN_TRIMMED'))
  } finally {
    await store.close()
  }
})

test('a hold taken while a trim runs cannot claim what that trim removes', async () => {
  const store = await Store.open('/data', options(new MemoryFileSystem()))
  try {
    const p = await store.ensurePartition('p')
    for (let i = 0; i < 200; i++) await p.put(`k${i}`, 'v'.repeat(100))
    await p.flush()
    const trimming = p.trim(150)
    // The trim is under way (its floor is 150): holding from below it would promise what it removes.
    assert.throws(() => p.holdTrim(20, 'late'), isCode('LSN_TRIMMED'))
    const release = p.holdTrim(150, 'in time')
    await trimming
    assert.ok(p.firstLsn <= 150)
    release()
    // Once the trim settled, a hold from what is left is fine again.
    p.holdTrim(p.firstLsn, 'after')()
  } finally {
    await store.close()
  }
})

test('a trim below a non-integer LSN is INVALID_ARGUMENT (bad input, not a broken invariant)', async () => {
  const store = await Store.open('/data', options(new MemoryFileSystem()))
  try {
    const p = await store.ensurePartition('p')
    await p.put('a', '1')
    for (const bad of [Number.NaN, 1.5, Number.POSITIVE_INFINITY]) await assert.rejects(p.trim(bad), isCode('INVALID_ARGUMENT'), String(bad))
    assert.equal(await p.trim(2), 1)
  } finally {
    await store.close()
  }
})
