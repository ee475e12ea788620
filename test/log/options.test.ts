/** The file log's options: every bound a caller can set is INVALID_CONFIG, refused before anything is written. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog, type LogOptions } from '../../src/log/index.js'

const bad: Array<[string, Partial<LogOptions>]> = [
  ['segmentBytesMax below 4 KiB', { segmentBytesMax: 4095 }],
  ['segmentBytesMax not an integer', { segmentBytesMax: 8192.5 }],
  ['segmentBytesMax above 1 TiB', { segmentBytesMax: 2 ** 41 }],
  ['recordBytesMax 0', { recordBytesMax: 0 }],
  ['recordBytesMax above batchBytesMax', { recordBytesMax: 2048, batchBytesMax: 1024 }],
  ['batchBytesMax above what a frame holds', { batchBytesMax: 2 ** 30 }],
  ['batchBytesMax NaN', { batchBytesMax: Number.NaN }],
  ['pollIntervalMs 0', { pollIntervalMs: 0 }],
  ['pollIntervalMs negative', { pollIntervalMs: -5 }],
  ['pollIntervalMs Infinity', { pollIntervalMs: Number.POSITIVE_INFINITY }],
  ['startLsn 0', { startLsn: 0 }],
  ['startLsn not an integer', { startLsn: 1.5 }],
  ['startLsn unsafe', { startLsn: 2 ** 60 }],
  ['durability unknown', { durability: 'sometimes' as never }],
]

describe('file log options', () => {
  for (const [name, options] of bad) {
    test(`${name}: INVALID_CONFIG, nothing created`, async () => {
      const fs = new MemoryFileSystem()
      await assert.rejects(FileLog.open({ fs, dir: '/data/log', ...options }), (e: CairnError) => {
        assert.equal(e.code, 'INVALID_CONFIG')
        assert.match(e.message, /must be/)
        return true
      })
      assert.equal(await fs.stat('/data/log'), undefined, 'no directory was made')
    })
  }

  test('values at the bounds are taken', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir: '/data/log', segmentBytesMax: 4096, recordBytesMax: 1, batchBytesMax: 64, pollIntervalMs: 1, startLsn: Number.MAX_SAFE_INTEGER - 10 })
    assert.equal(log.firstLsn, Number.MAX_SAFE_INTEGER - 10)
    await log.close()
  })
})
