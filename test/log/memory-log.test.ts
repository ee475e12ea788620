/** What MemoryLog adds to the Log contract (the conformance suite checks the rest): its trim unit and its fault hook. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { CairnError } from '../../src/io/index.js'
import { MemoryLog } from '../../src/log/index.js'
import { textRecord as rec, textOf as text } from '../helpers/log-helpers.js'

async function contents(log: MemoryLog): Promise<string[]> {
  const out: string[] = []
  for await (const e of log.read(log.firstLsn)) out.push(`${e.lsn}:${text(e.payload)}`)
  return out
}

describe('MemoryLog', () => {
  test('trim removes whole units of trimUnitRecords LSNs counted from startLsn', async () => {
    const log = new MemoryLog({ startLsn: 5, trimUnitRecords: 10 })
    for (let i = 0; i < 35; i++) await log.append([rec(`r${i}`)])
    assert.equal(log.lastLsn, 39)
    assert.equal(log.segmentCount, 4)
    assert.equal(await log.trim(14), 5, 'LSN 14 is in the first unit (5..14): nothing removed')
    assert.equal(await log.trim(15), 15)
    assert.equal(await log.trim(34), 25)
    assert.equal(await log.trim(1000), 35, 'never past the last unit that holds a record')
    assert.equal(log.segmentCount, 1)
    assert.equal(await log.append([rec('after')]), 40)
  })

  test('failNextAppend fails that append and every one queued behind it; the next append reuses their LSNs', async () => {
    const log = new MemoryLog()
    await log.append([rec('a')])
    log.failNextAppend()
    const failed = log.append([rec('x'), rec('y')])
    const behind = log.append([rec('z')])
    const results = await Promise.allSettled([failed, behind])
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? (r.reason as CairnError).code : 'ok')),
      ['IO_ERROR', 'IO_ERROR'],
    )
    assert.equal(log.nextLsn, 2)
    assert.equal(await log.append([rec('b')]), 2)
    assert.deepEqual(await contents(log), ['1:a', '2:b'])
  })

  test('a payload changed by the caller after append does not change the log', async () => {
    const log = new MemoryLog()
    const payload = new TextEncoder().encode('same')
    const done = log.append([{ type: 1, payload }])
    payload.fill(0)
    await done
    assert.deepEqual(await contents(log), ['1:same'])
  })

  test('options out of bounds are INVALID_CONFIG', () => {
    for (const options of [{ startLsn: 0 }, { trimUnitRecords: 0 }, { recordBytesMax: 10, batchBytesMax: 5 }, { startLsn: 1.5 }]) {
      assert.throws(() => new MemoryLog(options), { code: 'INVALID_CONFIG' })
    }
  })
})
