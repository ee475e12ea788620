/**
 * A torn tail is not called corruption because of frame-shaped bytes in a payload (issue 6,
 * finding 6). Recovery takes a valid frame after a bad one as proof that the bad one had been
 * fsynced; a payload may hold such a frame (a log of logs, or a hostile client). Frames are
 * checked with a per-segment salt the payload cannot know, and the proof must be plausible:
 * the LSNs it skips must fit in the bytes between.
 */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import { describe, test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { decodeFrameHeader, encodeFrame, frameHeaderBytes, recordHeaderBytes } from '../../src/log/frame.js'
import { FileLog } from '../../src/log/index.js'
import { decodeSegmentHeader, encodeSegmentHeader, segmentFileName } from '../../src/log/segment-header.js'
import { frameOffsets, overwrite, payloadFor, readAll, record, segmentNames } from '../helpers/log-helpers.js'

const dir = '/data/log'

/** Appends 5 records, then one whose payload holds `inner` and more bytes; then tears that last frame just after `inner`. */
async function tornAfterEmbedded(makeInner: (salt: number) => Uint8Array): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem()
  const log = await FileLog.open({ fs, dir })
  for (let lsn = 1; lsn <= 5; lsn++) await log.append([record(payloadFor('salt', lsn, 40))])
  const [name] = await segmentNames(fs, dir)
  const path = posix.join(dir, name!)
  const header = decodeSegmentHeader((await fs.readFile(path)).subarray(0, 64))
  assert.ok(typeof header !== 'string')
  const inner = makeInner((header as { frameSalt?: number }).frameSalt ?? 0)
  const payload = new Uint8Array(inner.length + 100)
  payload.set(inner, 0)
  await log.append([record(payload)])
  await log.close()
  const original = await fs.readFile(path)
  // The last frame with records (a marker may follow it).
  const offsets = frameOffsets(original).filter((at) => decodeFrameHeader(original, at)!.recordCount > 0)
  const start = offsets[offsets.length - 1]!
  await overwrite(fs, path, original.subarray(0, start + frameHeaderBytes + recordHeaderBytes + inner.length + 3))
  return fs
}

function frame(lsn: number, durableLsn: number, salt: number): Uint8Array {
  const inner = new Uint8Array(frameHeaderBytes + recordHeaderBytes + 10)
  encodeFrame(inner, 0, [record(payloadFor('inner', lsn, 10))], lsn, durableLsn, salt)
  return inner
}

describe('frame salt and plausible proofs', () => {
  test('a frame a client forged into its payload (unsalted) does not turn a torn tail into CORRUPT_LOG', async () => {
    // LSN 9 after the torn LSN 6, claiming LSN 7 was fsynced: plausible distance, wrong salt.
    const fs = await tornAfterEmbedded(() => frame(9, 7, 0))
    const log = await FileLog.open({ fs, dir })
    assert.equal(log.lastLsn, 5)
    assert.equal(await log.append([record(payloadFor('salt', 6, 1))]), 6)
    await log.close()
  })

  test('a correctly salted frame is no proof when the LSNs it skips cannot fit in the bytes before it', async () => {
    const fs = await tornAfterEmbedded((salt) => frame(1000, 7, salt))
    const log = await FileLog.open({ fs, dir })
    assert.equal(log.lastLsn, 5)
    await log.close()
  })

  test('segments of format 1 (unsalted frames) are still read and appended to', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir(dir, true)
    const logId = 'ab'.repeat(16)
    const header = encodeSegmentHeader({ formatVersion: 1, logId, firstLsn: 1, createdAtMs: 0, frameSalt: 0 })
    const frames = new Uint8Array(2 * (frameHeaderBytes + recordHeaderBytes + 3))
    let at = encodeFrame(frames, 0, [record(new TextEncoder().encode('one'))], 1, 0, 0)
    at += encodeFrame(frames, at, [record(new TextEncoder().encode('two'))], 2, 1, 0)
    const handle = await fs.open(posix.join(dir, segmentFileName(1)), 'createNew')
    await handle.write(header, 0)
    await handle.write(frames.subarray(0, at), header.length)
    await handle.sync()
    await handle.close()
    await fs.syncDir(dir)
    const log = await FileLog.open({ fs, dir })
    assert.equal(log.logId, logId)
    assert.equal(await log.append([record(new TextEncoder().encode('three'))]), 3)
    await log.close()
    const again = await FileLog.open({ fs, dir })
    assert.deepEqual(
      (await readAll(again)).map((e) => new TextDecoder().decode(e.payload)),
      ['one', 'two', 'three'],
    )
    await again.close()
  })
})
