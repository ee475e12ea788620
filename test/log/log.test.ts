import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'

const enc = new TextEncoder()
const rec = (s: string) => ({ type: 1, payload: enc.encode(s) })
const text = (b: Uint8Array) => new TextDecoder().decode(b)

async function collect(log: FileLog, from: number): Promise<string[]> {
  const out: string[] = []
  for await (const e of log.read(from)) out.push(`${e.lsn}:${text(e.payload)}`)
  return out
}

describe('Log', () => {
  test('appends get dense LSNs and read back in order', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir: '/d/log' })
    assert.equal(log.lastLsn, 0)
    assert.equal(await log.append([rec('a')]), 1)
    assert.equal(await log.append([rec('b'), rec('c')]), 3)
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([rec(`x${i}`)])))
    assert.deepEqual(many, Array.from({ length: 50 }, (_, i) => 4 + i))
    assert.deepEqual((await collect(log, 2)).slice(0, 3), ['2:b', '3:c', '4:x0'])
    await log.close()
    const again = await FileLog.open({ fs, dir: '/d/log' })
    assert.equal(again.lastLsn, 53)
    assert.equal((await collect(again, 1)).length, 53)
    assert.equal(await again.append([rec('z')]), 54)
    await again.close()
  })

  test('rolls segments and trims whole sealed segments only', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir: '/d/log', segmentBytesMax: 4096 })
    for (let i = 0; i < 200; i++) await log.append([rec(`record-${i}-${'x'.repeat(50)}`)])
    assert.ok(log.segmentCount > 3, `segments: ${log.segmentCount}`)
    const first = await log.trim(100)
    assert.ok(first <= 100 && first > 1)
    await assert.rejects(collect(log, 1), (e: CairnError) => e.code === 'LSN_TRIMMED')
    assert.equal((await collect(log, first)).length, 200 - first + 1)
    await log.close()
    const again = await FileLog.open({ fs, dir: '/d/log', segmentBytesMax: 4096 })
    assert.equal(again.firstLsn, first)
    assert.equal(again.lastLsn, 200)
    await again.close()
  })

  test('tail yields existing then new records', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir: '/d/log' })
    await log.append([rec('a')])
    const ac = new AbortController()
    const seen: number[] = []
    const done = (async () => {
      for await (const e of log.tail(1, { signal: ac.signal })) {
        seen.push(e.lsn)
        if (e.lsn === 3) ac.abort()
      }
    })()
    await log.append([rec('b')])
    await log.append([rec('c')])
    await done
    assert.deepEqual(seen, [1, 2, 3])
    await log.close()
  })

  test('a new log can start at any LSN', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir: '/d/log', startLsn: 1001 })
    assert.equal(log.firstLsn, 1001)
    assert.equal(log.lastLsn, 1000)
    assert.equal(await log.append([rec('a')]), 1001)
    await log.close()
  })
})
