/**
 * copySegmentSuffix: the tail of a segment from the frame holding an LSN, as a valid segment of
 * its own (named and headed for that frame's first LSN, same log id and salt), that opens as a
 * log holding exactly those records.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { copySegmentSuffix, FileLog, verifySegmentFile } from '../../src/log/index.js'

const enc = new TextEncoder()

test('a segment tail from any LSN is a segment holding exactly the records from there', async () => {
  const fs = new MemoryFileSystem({ seed: 4 })
  const log = await FileLog.open({ fs, dir: '/log' })
  for (let i = 1; i <= 30; i++) {
    const batch = Array.from({ length: (i % 3) + 1 }, (_, j) => ({ type: 1, payload: enc.encode(`record ${i}.${j}`) }))
    await log.append(batch)
  }
  const cut = log.cut()
  assert.equal(cut.files.length, 1)
  const [file] = cut.files
  for (const fromLsn of [1, 2, 17, 30, cut.lastLsn, cut.lastLsn + 1]) {
    const dir = `/tail-${fromLsn}`
    await fs.mkdir(dir, true)
    const tail = await copySegmentSuffix(fs, file!.path, file!.bytes, fromLsn, dir)
    assert.ok(tail.firstLsn <= fromLsn, `the tail starts at or before ${fromLsn} (${tail.firstLsn})`)
    // Batches are 1 to 3 records: the frame holding fromLsn starts at most 2 before it.
    assert.ok(tail.firstLsn >= fromLsn - 2, `frames wholly before ${fromLsn} are left out (${tail.firstLsn})`)
    if (fromLsn > cut.lastLsn) assert.ok(tail.firstLsn === fromLsn && tail.bytes <= 64 + 32, 'past the last record: a header (and at most an empty marker frame)')
    const checked = await verifySegmentFile(fs, tail.path, log.logId)
    assert.equal(checked.firstLsn, tail.firstLsn)
    assert.equal(checked.lastLsn, cut.lastLsn)
    assert.equal(checked.bytes, tail.bytes)
    const copy = await FileLog.open({ fs, dir })
    const lsns: number[] = []
    for await (const e of copy.read(tail.firstLsn)) lsns.push(e.lsn)
    await copy.close()
    assert.deepEqual(lsns, Array.from({ length: cut.lastLsn - tail.firstLsn + 1 }, (_, i) => tail.firstLsn + i))
  }
  await log.close()
})
