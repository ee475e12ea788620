/**
 * Power loss at random points (DESIGN.md invariants 1 and 2), on the in-memory file system: a
 * seeded random workload of concurrent appends (and trims) runs on a FaultFileSystem that fails
 * every operation from a random K on, so nothing after K reaches the "disk"; then power is lost
 * and the log reopened. Every acknowledged record must be there with its exact payload, LSNs
 * dense and in order, nothing that was never appended, and appends must go on.
 * A failing run prints its seed; rerun one with CAIRN_SEED=<seed>.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FaultFileSystem, type FaultRule, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { hex, payloadFor, prng, readAll, record } from '../helpers/log-helpers.js'
import { testSeeds, withSeed } from '../helpers/seed.js'

const dir = '/data/log'
const segmentBytesMax = 4096

/** What the test knows about the log across lives. */
class Model {
  /** LSN -> payload (hex) of every record known durable: acknowledged, or found by a recovery. */
  durable = new Map<number, string>()
  /** LSN -> every payload ever handed to append at that LSN (LSNs are reused after a failure). */
  attempted = new Map<number, Set<string>>()
  /** Trims may remove records below this. */
  trimFloor = 1

  attempt(lsn: number, payload: string): void {
    const set = this.attempted.get(lsn) ?? new Set<string>()
    set.add(payload)
    this.attempted.set(lsn, set)
  }
}

interface Rng {
  next(): number
  int(lo: number, hi: number): number
}

/** Runs one random workload on `log`; every append is settled when it returns. */
async function workload(log: FileLog, model: Model, rng: Rng, tag: string): Promise<void> {
  const inflight: Promise<unknown>[] = []
  const waves = rng.int(5, 40)
  for (let w = 0; w < waves; w++) {
    const concurrent = rng.int(1, 8)
    for (let j = 0; j < concurrent; j++) {
      const count = rng.next() < 0.7 ? 1 : rng.int(2, 6)
      const first = log.nextLsn
      const payloads = Array.from({ length: count }, (_, i) => payloadFor(tag, first + i, rng.int(0, 400)))
      let promise: Promise<number>
      try {
        promise = log.append(payloads.map((p) => record(p)))
      } catch {
        continue // the log refuses work (LOG_FAILED): nothing was queued
      }
      for (const [i, p] of payloads.entries()) model.attempt(first + i, hex(p))
      inflight.push(
        promise.then(
          (last) => {
            assert.equal(last, first + count - 1, 'append resolves with its last LSN')
            for (const [i, p] of payloads.entries()) model.durable.set(first + i, hex(p))
          },
          () => undefined,
        ),
      )
    }
    const r = rng.next()
    if (r < 0.4) await Promise.all(inflight)
    else if (r < 0.6 && inflight.length > 0) await inflight[inflight.length - 1]
    if (rng.next() < 0.08 && log.lastLsn >= log.firstLsn) {
      const below = rng.int(log.firstLsn, log.lastLsn + 1)
      model.trimFloor = Math.max(model.trimFloor, below)
      await log.trim(below).catch(() => undefined)
    }
  }
  await Promise.all(inflight)
}

/** After power loss: reopen, check against the model, adopt what was recovered, append once more. */
async function recoverAndCheck(mem: MemoryFileSystem, model: Model, tag: string): Promise<void> {
  mem.powerLoss()
  const log = await FileLog.open({ fs: mem, dir, segmentBytesMax })
  try {
    const entries = await readAll(log, log.firstLsn)
    const first = log.firstLsn
    assert.ok(first <= model.trimFloor, `firstLsn ${first} is not above the highest trim bound ${model.trimFloor}`)
    assert.deepEqual(
      entries.map((e) => e.lsn),
      Array.from({ length: log.lastLsn - first + 1 }, (_, i) => first + i),
      'LSNs are dense and in order',
    )
    const byLsn = new Map(entries.map((e) => [e.lsn, hex(e.payload)]))
    for (const [lsn, payload] of model.durable) {
      if (lsn < model.trimFloor && lsn < first) continue // trimmed, as allowed
      assert.equal(byLsn.get(lsn), payload, `acknowledged LSN ${lsn} survives intact (log ${first}..${log.lastLsn})`)
    }
    for (const [lsn, payload] of byLsn) {
      assert.ok(model.attempted.get(lsn)?.has(payload), `LSN ${lsn} holds a payload that was appended at that LSN`)
    }
    // What survived a recovery is on disk for good: later lives must keep it.
    model.durable = new Map([...byLsn].filter(([lsn]) => lsn >= first))
    const p = payloadFor(`${tag}-after`, log.lastLsn + 1, 50)
    const lsn = log.lastLsn + 1
    model.attempt(lsn, hex(p))
    assert.equal(await log.append([record(p)]), lsn, 'appends continue after recovery')
    model.durable.set(lsn, hex(p))
    const back = await readAll(log, lsn)
    assert.equal(hex(back[0]!.payload), hex(p))
  } finally {
    await log.close()
  }
}

/**
 * One life: open through a fault-injecting seam, run a workload cut by `rule`, lose power, check.
 * With `fired`, the workload goes on until the fault has fired (and the life fails if it never does).
 */
async function life(
  mem: MemoryFileSystem,
  model: Model,
  rng: Rng,
  tag: string,
  cut: (fs: FaultFileSystem) => void,
  fired?: () => boolean,
): Promise<void> {
  const fs = new FaultFileSystem(mem)
  const log = await FileLog.open({ fs, dir, segmentBytesMax })
  cut(fs)
  await workload(log, model, rng, tag)
  for (let more = 0; fired !== undefined && !fired() && more < 100; more++) await workload(log, model, rng, `${tag}m${more}`)
  if (fired !== undefined) assert.ok(fired(), `${tag}: the injected fault fired`)
  await log.close().catch(() => undefined)
  await recoverAndCheck(mem, model, tag)
}

const seeds = testSeeds(Array.from({ length: 60 }, (_, i) => 1000 + i))

describe('power loss', { timeout: 120_000 }, () => {
  test('at a random operation of a random concurrent workload, several lives per log', async () => {
    for (const seed of seeds) {
      await withSeed(seed, async () => {
        const rng = prng(seed)
        const mem = new MemoryFileSystem({ seed })
        const model = new Model()
        for (let l = 0; l < 3; l++) {
          const budget = rng.int(1, 300)
          await life(mem, model, rng, `s${seed}l${l}`, (fs) => fs.failAt(fs.count + budget, { persistent: true }))
        }
      })
    }
  })

  test('just after a segment roll (0..4 operations after the new segment is made durable)', async () => {
    for (const seed of seeds.slice(0, 30)) {
      await withSeed(seed, async () => {
        const rng = prng(seed * 7 + 1)
        const mem = new MemoryFileSystem({ seed })
        const model = new Model()
        for (let l = 0; l < 3; l++) {
          const skip = rng.int(0, 4)
          const rollsBefore = rng.int(0, 3)
          let fired = false
          await life(mem, model, rng, `r${seed}l${l}`, (fs) => {
            // A roll ends with rename(<segment>.tmp) then syncDir; count those, then fail from
            // `skip` operations after the chosen one on.
            let rolls = 0
            let failFrom = Number.POSITIVE_INFINITY
            let renamed = false
            const rule: FaultRule = (op) => {
              if (op.index >= failFrom) {
                fired = true
                return true
              }
              if (op.name === 'rename' && op.path.endsWith('.log.tmp')) renamed = true
              else if (op.name === 'syncDir' && renamed) {
                renamed = false
                rolls += 1
                if (rolls > rollsBefore) failFrom = op.index + 1 + skip
              }
              return false
            }
            fs.failWhen(rule)
          }, () => fired)
        }
      })
    }
  })

  test('while trimming: at each operation of a trim, the log reopens as one dense range', async () => {
    const build = async (): Promise<{ mem: MemoryFileSystem; model: Model }> => {
      const mem = new MemoryFileSystem()
      const model = new Model()
      const log = await FileLog.open({ fs: mem, dir, segmentBytesMax })
      for (let lsn = 1; lsn <= 200; lsn++) {
        const p = payloadFor('trim', lsn, 100)
        model.attempt(lsn, hex(p))
        await log.append([record(p)])
        model.durable.set(lsn, hex(p))
      }
      assert.ok(log.segmentCount >= 5)
      await log.close()
      return { mem, model }
    }
    // Count the operations of the trim.
    const dry = await build()
    const dryFs = new FaultFileSystem(dry.mem)
    const dryLog = await FileLog.open({ fs: dryFs, dir, segmentBytesMax })
    const before = dryFs.count
    const firstAfter = await dryLog.trim(150)
    const ops = dryFs.count - before
    assert.ok(ops >= 4 && firstAfter > 1, `trim ran ${ops} operations`)
    await dryLog.close()
    for (let k = 1; k <= ops + 1; k++) {
      const { mem, model } = await build()
      const fs = new FaultFileSystem(mem)
      const log = await FileLog.open({ fs, dir, segmentBytesMax })
      fs.failAt(fs.count + k, { persistent: true })
      model.trimFloor = 150
      await log.trim(150).catch(() => undefined)
      await log.close().catch(() => undefined)
      await recoverAndCheck(mem, model, `trim-k${k}`)
      // A second power loss right after recovery changes nothing.
      await recoverAndCheck(mem, model, `trim-k${k}-again`)
    }
  })
})
