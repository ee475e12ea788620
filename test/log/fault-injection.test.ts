/**
 * An I/O error at each operation of an append, a roll and a trim: the error surfaces as a
 * CairnError, the log stays consistent (reads return exactly the acknowledged records), a retry
 * of the same operation works (after close + reopen when the log went to LOG_FAILED), and the
 * log reopens whole, also after power loss.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem, type OperationName } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { hex, payloadFor, readAll, record } from '../helpers/log-helpers.js'

const dir = '/data/log'
const segmentBytesMax = 4096

interface Setup {
  mem: MemoryFileSystem
  fs: FaultFileSystem
  log: FileLog
  /** LSN -> payload hex of every acknowledged record (trimmed ones stay: reads start at firstLsn). */
  model: Map<number, string>
}

/** A log of 5 segments whose active segment has less than 3 KiB of room left. */
async function setup(): Promise<Setup> {
  const mem = new MemoryFileSystem()
  const fs = new FaultFileSystem(mem)
  const log = await FileLog.open({ fs, dir, segmentBytesMax })
  const model = new Map<number, string>()
  let lsn = 0
  while (log.segmentCount < 5 || log.bytes - segmentBytesMax * (log.segmentCount - 1) < 1500) {
    lsn += 1
    const p = payloadFor('fi', lsn, 150)
    assert.equal(await log.append([record(p)]), lsn)
    model.set(lsn, hex(p))
  }
  return { mem, fs, log, model }
}

async function expectConsistent(log: FileLog, model: Map<number, string>, what: string): Promise<void> {
  const entries = await readAll(log, log.firstLsn)
  const expected = [...model].filter(([lsn]) => lsn >= log.firstLsn).sort((a, b) => a[0] - b[0])
  assert.deepEqual(
    entries.map((e) => [e.lsn, hex(e.payload)]),
    expected,
    `${what}: reads return exactly the acknowledged records`,
  )
  assert.equal(log.lastLsn, expected.length > 0 ? expected[expected.length - 1]![0] : log.firstLsn - 1)
}

interface Operation {
  name: string
  /** Runs the operation; updates the model when it succeeds. */
  run(s: Setup, log: FileLog, attempt: number): Promise<void>
}

const appendOp = (bytes: number, name: string, rolls: boolean): Operation => ({
  name,
  async run(s, log, attempt) {
    const segments = log.segmentCount
    const lsn = log.nextLsn
    const payloads = [payloadFor(`${name}-${attempt}`, lsn, bytes), payloadFor(`${name}-${attempt}`, lsn + 1, 7)]
    const last = await log.append(payloads.map((p) => record(p)))
    assert.equal(last, lsn + 1)
    s.model.set(lsn, hex(payloads[0]!))
    s.model.set(lsn + 1, hex(payloads[1]!))
    // (A retry may find the segment its failed attempt already rolled to.)
    if (attempt < 2) assert.equal(log.segmentCount, rolls ? segments + 1 : segments, rolls ? 'the append rolled' : 'the append did not roll')
  },
})

let trimBelow: number | undefined
const operations: Operation[] = [
  appendOp(100, 'append', false),
  appendOp(3000, 'roll', true),
  {
    name: 'trim',
    async run(s, log, attempt) {
      const segments = log.segmentCount
      const below = trimBelow ?? log.firstLsn + Math.floor((log.lastLsn - log.firstLsn) * 0.6)
      trimBelow = below
      const first = await log.trim(below)
      assert.ok(first <= below && first > 1, `trim(${below}) -> ${first}`)
      // (A retry may find some segments removed by its failed attempt.)
      if (attempt < 2) assert.ok(log.segmentCount <= segments - 2, 'trim removed at least two segments')
      s.model.forEach((_, lsn) => {
        if (lsn < first) s.model.delete(lsn)
      })
    },
  },
]

/** Operations whose failure may be swallowed, because nothing depends on them. */
const mayBeSwallowed = new Set<OperationName>(['close'])

describe('I/O error at each operation', () => {
  for (const op of operations) {
    test(op.name, async () => {
      // Dry run: which operations does it perform?
      const dry = await setup()
      dry.fs.trace = []
      const before = dry.fs.count
      await op.run(dry, dry.log, 0)
      const ops = dry.fs.trace.filter((o) => o.index > before)
      assert.ok(ops.length >= 2, `${op.name} performs ${ops.length} operations`)
      await dry.log.close()

      for (const [k, planned] of ops.entries()) {
        const where = `${op.name}: fault at operation ${k + 1} of ${ops.length} (${planned.name} ${planned.path})`
        const s = await setup()
        s.fs.failAt(s.fs.count + k + 1)
        let log = s.log
        let error: unknown
        try {
          await op.run(s, log, 1)
        } catch (e) {
          error = e
        }
        if (error === undefined) {
          // A write after the last sync is the marker that tells readers the group is durable:
          // the append was acknowledged before it, and readers learn it from the next frame.
          const marker = planned.name === 'write' && ops.slice(0, k).some((o) => o.name === 'sync') && !ops.slice(k).some((o) => o.name === 'sync')
          assert.ok(mayBeSwallowed.has(planned.name) || marker, `${where}: the error did not surface`)
        } else {
          assert.ok(error instanceof CairnError, `${where}: ${String(error)} is a CairnError`)
          assert.ok(error.code === 'IO_ERROR' || error.code === 'LOG_FAILED', `${where}: code ${error.code}`)
          await expectConsistent(log, s.model, where)
          if (error.code === 'LOG_FAILED') {
            await log.close().catch(() => undefined)
            log = await FileLog.open({ fs: s.fs, dir, segmentBytesMax })
            await expectConsistent(log, s.model, `${where}, reopened`)
          }
          await op.run(s, log, 2)
        }
        await expectConsistent(log, s.model, `${where}, after retry`)
        // And the log goes on.
        await appendOp(10, 'after', false).run(s, log, 3)
        await log.close()
        const reopened = await FileLog.open({ fs: s.fs, dir, segmentBytesMax })
        await expectConsistent(reopened, s.model, `${where}, reopened at the end`)
        await reopened.close()
        // Everything acknowledged was durable: it survives power loss too, and so does the trim.
        s.mem.powerLoss()
        const afterPowerLoss = await FileLog.open({ fs: s.mem, dir, segmentBytesMax })
        await expectConsistent(afterPowerLoss, s.model, `${where}, after power loss`)
        await afterPowerLoss.close()
      }
    })
  }

  test('appends queued while a failed write is being repaired fail with LOG_FAILED when the repair fails', async () => {
    const s = await setup()
    s.fs.failWhen((o) => o.name === 'write', { once: true })
    s.fs.failWhen((o) => o.name === 'truncate', { once: true })
    let second: Promise<string> | undefined
    const first = s.log.append([record(payloadFor('q', 1, 10))]).catch((e: CairnError) => {
      // Runs while the log truncates the active segment back.
      second = s.log.append([record(payloadFor('q', 2, 10))]).then(
        () => 'resolved',
        (e2: CairnError) => e2.code,
      )
      return e.code
    })
    assert.equal(await first, 'IO_ERROR')
    await s.log.close().catch(() => undefined)
    // No clock: a settled promise wins a race against a few turns of the event loop.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    const unsettled = Symbol('unsettled')
    assert.ok(second !== undefined)
    assert.equal(await Promise.race([second, Promise.resolve(unsettled)]), 'LOG_FAILED')
    const log = await FileLog.open({ fs: s.fs, dir, segmentBytesMax })
    await expectConsistent(log, s.model, 'after LOG_FAILED, reopened')
    await appendOp(10, 'after', false).run(s, log, 1)
    await log.close()
  })
})
