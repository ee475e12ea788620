/**
 * Sealing the file log: appends queued before the seal land and later ones are LOG_SEALED, the
 * active segment is left exactly its frames (no preallocated zeros) and fsynced, so that power
 * loss right after the seal loses nothing acknowledged, under either durability; reopening finds
 * the same log, and a reader beside it sees all of it.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { type Durability, FileLog } from '../../src/log/index.js'
import { frameOffsets, hex, payloadFor, readAll, record, segmentNames } from '../helpers/log-helpers.js'
import { testSeed, withSeed } from '../helpers/seed.js'

const dir = '/data/log'
const seed = testSeed(7)

async function activeSegmentBytes(fs: MemoryFileSystem): Promise<Uint8Array> {
  const names = await segmentNames(fs, dir)
  return fs.readFile(`${dir}/${names[names.length - 1]}`)
}

describe('seal', () => {
  for (const durability of ['sync', 'none'] as Durability[]) {
    test(`under '${durability}': concurrent appends before the seal land, later ones are refused, power loss after it loses nothing`, () => withSeed(seed, async () => {
      const fs = new MemoryFileSystem({ seed })
      const log = await FileLog.open({ fs, dir, durability, segmentBytesMax: 16 * 1024 })
      const acknowledged = new Map<number, string>()
      const append = (lsn: number): Promise<void> => {
        const p = payloadFor('seal', lsn, 90)
        return log.append([record(p)]).then((last) => {
          assert.equal(last, lsn)
          acknowledged.set(lsn, hex(p))
        })
      }
      for (let lsn = 1; lsn <= 300; lsn++) await append(lsn)
      const before = Array.from({ length: 64 }, (_, i) => append(301 + i))
      const sealing = log.seal()
      const refused = Array.from({ length: 8 }, () => {
        try {
          void log.append([record(payloadFor('late', 0, 10))])
          return undefined
        } catch (e) {
          return (e as CairnError).code
        }
      })
      assert.deepEqual(refused, Array(8).fill('LOG_SEALED'))
      await Promise.all(before)
      await sealing
      assert.equal(log.lastLsn, 364)
      assert.equal(acknowledged.size, 364)
      // The active segment is exactly its frames: no preallocated zeros after them.
      const active = await activeSegmentBytes(fs)
      assert.doesNotThrow(() => frameOffsets(active), 'the sealed active segment holds frames only')
      const cut = log.cut()
      assert.equal(cut.files[cut.files.length - 1]!.bytes, active.length, 'the cut covers the whole sealed file')
      fs.powerLoss({ keep: 'synced-only' })
      const again = await FileLog.open({ fs, dir, segmentBytesMax: 16 * 1024 })
      try {
        assert.equal(again.lastLsn, 364)
        const entries = await readAll(again)
        assert.equal(entries.length, 364)
        for (const e of entries) assert.equal(hex(e.payload), acknowledged.get(e.lsn), `LSN ${e.lsn} survives`)
        assert.equal((await activeSegmentBytes(fs)).length, active.length, 'reopening a sealed log cuts nothing')
      } finally {
        await again.close()
      }
    }))
  }

  test('a reader beside a sealed writer sees every record, and the writer closes cleanly after the seal', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir, durability: 'none' })
    for (let lsn = 1; lsn <= 50; lsn++) await log.append([record(payloadFor('r', lsn, 40))])
    await log.seal()
    const reader = await FileLog.open({ fs, dir, readOnly: true })
    try {
      assert.equal(reader.lastLsn, 50)
      assert.equal((await readAll(reader)).length, 50)
    } finally {
      await reader.close()
    }
    await log.close()
    await log.close()
    const again = await FileLog.open({ fs, dir })
    assert.equal(again.lastLsn, 50)
    await again.close()
  })

  test('seal of a closed or read-only log is refused; seal is idempotent, even after close', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir })
    await log.append([record(payloadFor('i', 1, 10))])
    await Promise.all([log.seal(), log.seal()])
    await log.seal()
    await log.close()
    await log.seal()
    const reader = await FileLog.open({ fs, dir, readOnly: true })
    await assert.rejects(async () => reader.seal(), (e: CairnError) => e.code === 'READ_ONLY')
    await reader.close()
    const closed = await FileLog.open({ fs, dir })
    await closed.close()
    await assert.rejects(async () => closed.seal(), (e: CairnError) => e.code === 'CLOSED')
  })
})
