/**
 * `cut()` of the file log: captured synchronously while 64 writers append, a copy of each file's
 * first `bytes` bytes opens as a valid log holding exactly the cut's `firstLsn..lastLsn`, with
 * every record acknowledged before the cut; and a cut never reaches into a group that is written
 * but not yet acknowledged.
 */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import { describe, test } from 'node:test'
import { type FileSystem, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { decodeFrameHeader } from '../../src/log/frame.js'
import { FileLog, type LogCut } from '../../src/log/index.js'
import { hex, payloadFor, readAll, record } from '../helpers/log-helpers.js'
import { copyCut } from '../helpers/log-cut-copy.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const segmentBytesMax = 16 * 1024

async function cutUnderWriters(fs: FileSystem, root: string): Promise<void> {
  const dir = posix.join(root, 'log')
  const log = await FileLog.open({ fs, dir, segmentBytesMax })
  const acknowledged = new Map<number, string>()
  let running = true
  const writers = Array.from({ length: 64 }, async (_, w) => {
    for (let i = 0; i < 30; i++) {
      const p = payloadFor(`w${w}`, i, 100)
      const lsn = await log.append([record(p)])
      acknowledged.set(lsn, hex(p))
    }
  })
  const taken: Array<{ cut: LogCut; before: number[]; copy: string }> = []
  const cutter = (async () => {
    while (running) {
      const before = [...acknowledged.keys()]
      const cut = log.cut()
      const copy = posix.join(root, `copy-${taken.length}`)
      taken.push({ cut, before, copy })
      await copyCut(fs, cut, copy)
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  await Promise.all(writers)
  running = false
  await cutter
  assert.equal(log.lastLsn, 64 * 30)
  assert.ok(log.segmentCount > 3, 'the writers rolled segments')
  assert.ok(taken.length >= 3, `cuts taken while writing: ${taken.length}`)
  await log.close()
  for (const { cut, before, copy } of taken) {
    for (const lsn of before) assert.ok(lsn <= cut.lastLsn, `LSN ${lsn} acknowledged before the cut is in it`)
    const opened = await FileLog.open({ fs, dir: copy, segmentBytesMax })
    try {
      assert.equal(opened.firstLsn, cut.firstLsn)
      assert.equal(opened.lastLsn, cut.lastLsn, `the copy of cut ${copy} ends at its lastLsn`)
      const entries = await readAll(opened)
      assert.equal(entries.length, cut.lastLsn - cut.firstLsn + 1)
      for (const e of entries) assert.equal(hex(e.payload), acknowledged.get(e.lsn), `LSN ${e.lsn} of the copy is the acknowledged record`)
    } finally {
      await opened.close()
    }
  }
}

describe('cut', () => {
  test('under 64 concurrent writers, on the in-memory file system: each cut copies to a valid log of exactly its range', async () => {
    await cutUnderWriters(new MemoryFileSystem(), '/data')
  })

  test('under 64 concurrent writers, on the real file system', async () => {
    const temp = await makeTempDir('cairn-cut-')
    try {
      await cutUnderWriters(new NodeFileSystem(), temp.path)
    } finally {
      await temp.cleanup()
    }
  })

  test('a cut never includes a group written but not yet acknowledged', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir: '/data/log' })
    for (let lsn = 1; lsn <= 10; lsn++) await log.append([record(payloadFor('a', lsn, 50))])
    const release = fs.holdSyncs()
    const pending = Array.from({ length: 8 }, (_, i) => log.append([record(payloadFor('a', 11 + i, 50))]))
    const path = log.cut().files[0]!.path
    const acknowledgedBytes = log.cut().files[0]!.bytes
    // Wait until a held group is written after the acknowledged end.
    for (let i = 0; i < 1000; i++) {
      const bytes = await fs.readFile(path)
      if (decodeFrameHeader(bytes, acknowledgedBytes) !== undefined) break
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.notEqual(decodeFrameHeader(await fs.readFile(path), acknowledgedBytes), undefined, 'a held group was written')
    const cut = log.cut()
    assert.equal(cut.lastLsn, 10)
    assert.equal(cut.files[0]!.bytes, acknowledgedBytes, 'the cut ends at the acknowledged bytes')
    // Into another file system: this one holds every sync.
    const other = new MemoryFileSystem()
    await copyCut(fs, cut, '/copy', other)
    const copy = await FileLog.open({ fs: other, dir: '/copy' })
    assert.equal(copy.lastLsn, 10, 'the copy holds no record of an unacknowledged group')
    await copy.close()
    release()
    assert.deepEqual(await Promise.all(pending), [11, 12, 13, 14, 15, 16, 17, 18])
    assert.equal(log.cut().lastLsn, 18)
    await log.close()
  })

  test('expectedLsn: a mismatch is LSN_MISMATCH and writes nothing to the segment', async () => {
    const fs = new MemoryFileSystem()
    const log = await FileLog.open({ fs, dir: '/data/log' })
    for (let lsn = 1; lsn <= 5; lsn++) await log.append([record(payloadFor('e', lsn, 50))], { expectedLsn: lsn })
    const path = log.cut().files[0]!.path
    const before = hex(await fs.readFile(path))
    for (const expectedLsn of [1, 5, 7]) {
      assert.throws(() => log.append([record(payloadFor('x', expectedLsn, 50))], { expectedLsn }), { code: 'LSN_MISMATCH' })
    }
    await log.sync()
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(hex(await fs.readFile(path)), before, 'the segment is unchanged')
    assert.equal(log.nextLsn, 6)
    assert.equal(await log.append([record(payloadFor('e', 6, 50))], { expectedLsn: 6 }), 6)
    await log.close()
  })
})
