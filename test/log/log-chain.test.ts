import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import type { LogEntry } from '../../src/log/index.js'
import { prng } from '../helpers/log-helpers.js'
import { ChainUnderTest } from './log-chain-helpers.js'

const enc = new TextEncoder()
const dec = new TextDecoder()
const rec = (lsn: number) => ({ type: 1, payload: enc.encode(`r${lsn}`) })
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

async function lsns(it: AsyncIterable<LogEntry>): Promise<number[]> {
  const out: number[] = []
  for await (const e of it) {
    assert.equal(dec.decode(e.payload), `r${e.lsn}`, 'each record read back at its LSN')
    out.push(e.lsn)
  }
  return out
}
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i)

/** A chain of three logs: 1..10, 11..20, 21..25 (active). */
async function threeLogs(fs = new MemoryFileSystem()): Promise<ChainUnderTest> {
  const t = await ChainUnderTest.create(fs, '/c')
  for (const [from, to] of [[1, 10], [11, 20], [21, 25]] as const) {
    for (let lsn = from; lsn <= to; lsn++) assert.equal(await t.chain.append([rec(lsn)]), lsn)
    if (to < 25) await t.roll()
  }
  return t
}

describe('LogChain', () => {
  test('reads span every log of the chain; sealed logs hold no descriptor after a read', async () => {
    const t = await threeLogs()
    assert.equal(t.links.length, 3)
    assert.deepEqual(t.links.map((l) => l.firstLsn), [1, 11, 21])
    assert.deepEqual(await lsns(t.chain.read(1)), range(1, 25))
    assert.deepEqual(await lsns(t.chain.read(8, 23)), range(8, 23))
    assert.deepEqual(await lsns(t.chain.read(12, 14)), range(12, 14))
    assert.equal(t.openSealed, 0, 'sealed logs closed after the read')
    assert.equal(t.chain.cut().files.length, 3, 'cut lists the segments of every log')
    assert.deepEqual(t.chain.cut().files.map((f) => f.logId), t.links.map((l) => l.logId))
    await t.reopen()
    assert.equal(t.openSealed, 0, 'open checks the sealed logs and closes them')
    assert.equal(t.chain.firstLsn, 1)
    assert.equal(t.chain.lastLsn, 25)
    assert.deepEqual(await lsns(t.chain.read(1)), range(1, 25))
    await t.chain.close()
  })

  test('a tail crosses from sealed logs into the active one and follows it across a roll', async () => {
    const t = await threeLogs()
    const ac = new AbortController()
    const seen: number[] = []
    const tail = (async () => {
      for await (const e of t.chain.tail(5, { signal: ac.signal })) {
        seen.push(e.lsn)
        if (e.lsn === 40) ac.abort()
      }
    })()
    await t.chain.append([rec(26), rec(27)])
    await t.roll()
    for (let lsn = 28; lsn <= 40; lsn++) await t.chain.append([rec(lsn)])
    await tail
    assert.deepEqual(seen, range(5, 40))
    assert.equal(t.links.length, 4)
    await t.chain.close()
  })

  test('appends made during a roll wait and take dense LSNs, in call order (random interleavings)', async () => {
    const seed = Number(process.env.CAIRN_SEED ?? Date.now() % 1e9)
    try {
      const random = prng(seed)
      const t = await ChainUnderTest.create(new MemoryFileSystem({ seed }), '/c')
      const expected: Promise<number>[] = []
      let next = 1
      for (let round = 0; round < 40; round++) {
        const n = 1 + Math.floor(random.next() * 3)
        const lsn = t.chain.nextLsn
        assert.equal(lsn, next, 'nextLsn counts appends waiting for a roll')
        const batch = range(lsn, lsn + n - 1).map(rec)
        expected.push(t.chain.append(batch, { expectedLsn: lsn }).then((last) => {
          assert.equal(last, lsn + n - 1)
          return last
        }))
        next += n
        if (random.next() < 0.2) void t.roll()
        if (random.next() < 0.3) await Promise.resolve()
      }
      await Promise.all(expected)
      assert.deepEqual(await lsns(t.chain.read(1)), range(1, next - 1))
      const links = t.links.length
      await t.reopen()
      assert.equal(t.chain.links.length, links)
      assert.deepEqual(await lsns(t.chain.read(1)), range(1, next - 1))
      await t.chain.close()
    } catch (e) {
      console.error(`LogChain roll interleavings failed: rerun with CAIRN_SEED=${seed}`)
      throw e
    }
  })

  test('trim drops whole sealed logs (recorded first, then removed) and then trims inside the active one', async () => {
    const fs = new MemoryFileSystem()
    const t = await threeLogs(fs)
    const dropped = t.links[0]!.logId
    assert.equal(await t.chain.trim(5), 1, 'a trim inside the oldest log keeps it')
    assert.equal(await t.chain.trim(11), 11)
    assert.equal(t.links.length, 2)
    assert.equal(await fs.stat(t.dir(dropped)), undefined)
    await assert.rejects(lsns(t.chain.read(3)), isCode('LSN_TRIMMED'))
    assert.deepEqual(await lsns(t.chain.read(11)), range(11, 25))
    assert.equal(await t.chain.trim(1000), 21, 'the active log keeps its one segment')
    assert.deepEqual(await lsns(t.chain.read(21)), range(21, 25))
    await t.reopen()
    assert.equal(t.chain.firstLsn, 21)
    await t.chain.close()
  })

  test('a chain with a gap is CORRUPT_LOG at open, with what to do', async () => {
    const t = await threeLogs()
    await t.chain.close()
    t.links = t.links.map((l, i) => (i === 1 ? { ...l, firstLsn: 12 } : l))
    const failed = await t.open().then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(isCode('CORRUPT_LOG')(failed), String(failed))
    assert.match((failed as Error).message, /ends at LSN 10 but the next log .* starts at 12.*restore/)
    assert.equal(t.openSealed, 0)
  })

  test('a roll of a log that holds no record since its start is a no-op; seal seals the active log', async () => {
    const t = await ChainUnderTest.create(new MemoryFileSystem(), '/c', 101)
    const link = await t.roll()
    assert.deepEqual(link, t.links[0])
    await t.chain.append([rec(101)])
    await t.roll()
    assert.equal(t.chain.firstLsn, 101)
    assert.equal(t.links[1]!.firstLsn, 102)
    const sealing = t.chain.seal()
    assert.equal(t.chain.sealed, true)
    await sealing
    assert.throws(() => t.chain.append([rec(102)]), isCode('LOG_SEALED'))
    await t.chain.close()
  })
})
