/**
 * Recovery of a damaged last segment (docs/design.md, promise 4): a torn tail, cut at every byte of
 * the last frame, is truncated and appends continue; damage anywhere else is CORRUPT_LOG naming
 * the file and the offset. Run on real files and on the in-memory file system.
 */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import { describe, test } from 'node:test'
import { type CairnError, type FileSystem, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { decodeFrameHeader } from '../../src/log/frame.js'
import { FileLog } from '../../src/log/index.js'
import { frameOffsets, hex, overwrite, payloadFor, readAll, record, segmentNames } from '../helpers/log-helpers.js'
import { makeTempDir } from '../helpers/temp-dir.js'

interface Env {
  fs: FileSystem
  dir: string
  cleanup(): Promise<void>
}

const envs: Array<[string, () => Promise<Env>]> = [
  ['MemoryFileSystem', async () => ({ fs: new MemoryFileSystem(), dir: '/data/log', cleanup: async () => undefined })],
  [
    'NodeFileSystem',
    async () => {
      const tmp = await makeTempDir('cairn-torn-')
      return { fs: new NodeFileSystem(), dir: posix.join(tmp.path, 'log'), cleanup: tmp.cleanup }
    },
  ],
]

/** Expected contents: lsn -> payload hex. */
type Model = Map<number, string>

async function expectLog(log: FileLog, model: Model, lastLsn: number): Promise<void> {
  assert.equal(log.lastLsn, lastLsn)
  const entries = await readAll(log, 1)
  assert.deepEqual(
    entries.map((e) => e.lsn),
    Array.from({ length: lastLsn }, (_, i) => i + 1),
  )
  for (const e of entries) assert.equal(hex(e.payload), model.get(e.lsn), `payload of LSN ${e.lsn}`)
}

/** Writes `count` single-record appends, then one 3-record batch (the frame we tear). */
async function writeLog(env: Env, minCount: number, segmentBytesMax?: number): Promise<{ model: Model; lastFrameFirst: number }> {
  let count = minCount
  const log = await FileLog.open({ fs: env.fs, dir: env.dir, ...(segmentBytesMax === undefined ? {} : { segmentBytesMax }) })
  const model: Model = new Map()
  const batchFrameBytes = 32 + 3 * (5 + 21)
  let segmentSize = 64
  for (let lsn = 1; ; lsn++) {
    // Without a limit, write minCount records. With a segment limit, go on until the final batch cannot fit: it then opens a new segment.
    if (segmentBytesMax === undefined ? lsn > count : lsn > count && segmentSize + batchFrameBytes > segmentBytesMax) {
      count = lsn - 1
      break
    }
    const p = payloadFor('torn', lsn, 20 + ((lsn * 37) % 90))
    model.set(lsn, hex(p))
    const segments = log.segmentCount
    assert.equal(await log.append([record(p)]), lsn)
    if (log.segmentCount !== segments) segmentSize = 64
    // The frame, and the marker the idle writer writes after it.
    segmentSize += 32 + 5 + p.length + 32
  }
  const batch = [count + 1, count + 2, count + 3].map((lsn) => payloadFor('torn', lsn, 21))
  for (const [i, p] of batch.entries()) model.set(count + 1 + i, hex(p))
  assert.equal(await log.append(batch.map((p) => record(p))), count + 3)
  await log.close()
  return { model, lastFrameFirst: count + 1 }
}

/** Cuts the markers (frames without records) off the end of a segment file; returns its bytes. */
async function withoutTrailingMarkers(fs: FileSystem, path: string): Promise<Uint8Array> {
  const bytes = await fs.readFile(path)
  const offsets = frameOffsets(bytes)
  let end = bytes.length
  while (offsets.length > 0 && decodeFrameHeader(bytes, offsets[offsets.length - 1]!)!.recordCount === 0) end = offsets.pop()!
  const cut = bytes.slice(0, end)
  await overwrite(fs, path, cut)
  return cut
}

for (const [name, makeEnv] of envs) {
  describe(`torn tail and corruption: ${name}`, () => {
    for (const rolled of [false, true]) {
      test(`a cut at every byte of the last frame is truncated and appends continue${rolled ? ' (last frame alone in a fresh segment)' : ''}`, async () => {
        const env = await makeEnv()
        try {
          // With rolled, the segment limit forces the final batch into a segment of its own.
          const count = rolled ? 40 : 12
          const { model, lastFrameFirst } = await writeLog(env, count, rolled ? 4096 : undefined)
          const names = await segmentNames(env.fs, env.dir)
          if (rolled) assert.ok(names.length >= 2, 'the log rolled')
          const lastPath = posix.join(env.dir, names[names.length - 1]!)
          // The writer's trailing marker (a frame without records) is not the frame to tear.
          const original = await withoutTrailingMarkers(env.fs, lastPath)
          const offsets = frameOffsets(original)
          const start = offsets[offsets.length - 1]!
          if (rolled) assert.equal(offsets.length, 1, 'the torn frame is the only one in its segment')
          assert.ok(original.length - start > 32 + 3 * 5, 'last frame holds a header and three records')
          for (let cut = start; cut < original.length; cut++) {
            await overwrite(env.fs, lastPath, original.subarray(0, cut))
            const log = await FileLog.open({ fs: env.fs, dir: env.dir, segmentBytesMax: rolled ? 4096 : undefined })
            try {
              await expectLog(log, model, lastFrameFirst - 1)
              assert.equal((await env.fs.stat(lastPath))?.size, start, `cut at ${cut}: torn bytes removed`)
              const p = payloadFor('after-cut', cut, 33)
              assert.equal(await log.append([record(p)]), lastFrameFirst, `cut at ${cut}: next append reuses the torn LSN`)
              const back = await readAll(log, lastFrameFirst)
              assert.deepEqual(
                back.map((e) => [e.lsn, hex(e.payload)]),
                [[lastFrameFirst, hex(p)]],
              )
            } finally {
              await log.close()
            }
          }
          // And the untouched file opens whole.
          await overwrite(env.fs, lastPath, original)
          const log = await FileLog.open({ fs: env.fs, dir: env.dir })
          await expectLog(log, model, lastFrameFirst + 2)
          await log.close()
        } finally {
          await env.cleanup()
        }
      })
    }

    test('trailing zero bytes are a torn tail', async () => {
      const env = await makeEnv()
      try {
        const { model, lastFrameFirst } = await writeLog(env, 10)
        const [segment] = await segmentNames(env.fs, env.dir)
        const path = posix.join(env.dir, segment!)
        const original = await env.fs.readFile(path)
        for (const zeros of [1, 4, 31, 32, 33, 4096]) {
          const grown = new Uint8Array(original.length + zeros)
          grown.set(original)
          await overwrite(env.fs, path, grown)
          const log = await FileLog.open({ fs: env.fs, dir: env.dir })
          try {
            await expectLog(log, model, lastFrameFirst + 2)
            assert.equal((await env.fs.stat(path))?.size, original.length, `${zeros} zeros truncated`)
          } finally {
            await log.close()
          }
        }
        const log = await FileLog.open({ fs: env.fs, dir: env.dir })
        assert.equal(await log.append([record(payloadFor('z', 1, 10))]), lastFrameFirst + 3)
        await log.close()
      } finally {
        await env.cleanup()
      }
    })

    test('a flipped bit in a sealed segment is CORRUPT_LOG naming the file and offset', async () => {
      const env = await makeEnv()
      try {
        const { model } = await writeLog(env, 120, 4096)
        const names = await segmentNames(env.fs, env.dir)
        assert.ok(names.length >= 3, `segments: ${names.length}`)
        const sealedPath = posix.join(env.dir, names[1]!)
        const original = await env.fs.readFile(sealedPath)
        const offsets = frameOffsets(original)
        // A bit in: the first frame's header, a middle frame's body, the sealed segment's last byte.
        const lastFrame = offsets[offsets.length - 1]!
        const cases: Array<{ bit: number; frame: number }> = [
          { bit: offsets[0]! * 8 + 5 * 8 + 1, frame: offsets[0]! },
          { bit: (offsets[2]! + 40) * 8 + 3, frame: offsets[2]! },
          { bit: (original.length - 1) * 8 + 7, frame: lastFrame },
        ]
        for (const { bit, frame } of cases) {
          const damaged = original.slice()
          damaged[bit >> 3]! ^= 1 << (bit & 7)
          await overwrite(env.fs, sealedPath, damaged)
          await assert.rejects(FileLog.open({ fs: env.fs, dir: env.dir, segmentBytesMax: 4096 }), (e: CairnError) => {
            assert.equal(e.code, 'CORRUPT_LOG')
            assert.ok(e.message.includes(sealedPath), `message names the file: ${e.message}`)
            assert.ok(e.message.includes(`byte ${frame}`), `message names offset ${frame}: ${e.message}`)
            assert.equal(e.context.offset, frame)
            return true
          })
        }
        // A sealed segment cut short (even at a frame boundary) is damage too, not a torn tail.
        // (Cut before its last frame with records: a trailing marker alone carries no record.)
        const withRecords = offsets.filter((at) => decodeFrameHeader(original, at)!.recordCount > 0)
        for (const cut of [original.length - 1, withRecords[withRecords.length - 1]!]) {
          await overwrite(env.fs, sealedPath, original.subarray(0, cut))
          await assert.rejects(FileLog.open({ fs: env.fs, dir: env.dir, segmentBytesMax: 4096 }), (e: CairnError) => e.code === 'CORRUPT_LOG')
        }
        // A damaged segment header.
        const badHeader = original.slice()
        badHeader[20]! ^= 0x10
        await overwrite(env.fs, sealedPath, badHeader)
        await assert.rejects(FileLog.open({ fs: env.fs, dir: env.dir }), (e: CairnError) => {
          assert.equal(e.code, 'CORRUPT_LOG')
          assert.ok(e.message.includes(sealedPath))
          return true
        })
        // Repaired, it opens again.
        await overwrite(env.fs, sealedPath, original)
        const log = await FileLog.open({ fs: env.fs, dir: env.dir, segmentBytesMax: 4096 })
        await expectLog(log, model, model.size)
        await log.close()
      } finally {
        await env.cleanup()
      }
    })

    test('a flipped bit in the last segment before later frames written after it was synced is CORRUPT_LOG', async () => {
      const env = await makeEnv()
      try {
        const { model } = await writeLog(env, 8)
        const [segment] = await segmentNames(env.fs, env.dir)
        const path = posix.join(env.dir, segment!)
        const original = await env.fs.readFile(path)
        // Frames with records (markers follow them); every one is followed by a frame (at least
        // its marker) written after it was fsynced.
        const offsets = frameOffsets(original).filter((at) => decodeFrameHeader(original, at)!.recordCount > 0)
        for (const i of [0, 3, offsets.length - 1]) {
          for (const delta of [2, 9, 33, 40]) {
            const at = offsets[i]! + delta
            const damaged = original.slice()
            damaged[at]! ^= 0x04
            await overwrite(env.fs, path, damaged)
            await assert.rejects(FileLog.open({ fs: env.fs, dir: env.dir }), (e: CairnError) => {
              assert.equal(e.code, 'CORRUPT_LOG', `frame ${i} +${delta}`)
              assert.ok(e.message.includes(path) && e.message.includes(`byte ${offsets[i]}`), e.message)
              return true
            })
            assert.equal((await env.fs.stat(path))?.size, original.length, 'a refused open changes nothing')
          }
        }
        await overwrite(env.fs, path, original)
        const log = await FileLog.open({ fs: env.fs, dir: env.dir })
        await expectLog(log, model, 11)
        await log.close()
      } finally {
        await env.cleanup()
      }
    })
  })
}

describe('torn tail whose lost bytes hold a frame-shaped payload', () => {
  test('a valid frame inside the torn payload (a log of logs) does not make the torn tail look acknowledged', async () => {
    const { encodeFrame } = await import('../../src/log/frame.js')
    const fs = new MemoryFileSystem()
    const dir = '/data/log'
    const log = await FileLog.open({ fs, dir })
    for (let lsn = 1; lsn <= 5; lsn++) await log.append([record(payloadFor('nest', lsn, 40))])
    // Record 6 carries, as its payload, a frame of another log for the same LSN (as a follower
    // shipping its leader's frames would), followed by more bytes.
    const inner = new Uint8Array(32 + 5 + 10)
    encodeFrame(inner, 0, [record(payloadFor('leader', 6, 10))], 6, 5)
    const payload = new Uint8Array(inner.length + 100)
    payload.set(inner, 0)
    await log.append([record(payload)])
    await log.close()
    const [name] = await segmentNames(fs, dir)
    const path = posix.join(dir, name!)
    const original = await fs.readFile(path)
    // The last frame with records (the writer's marker follows it).
    const offsets = frameOffsets(original).filter((at) => decodeFrameHeader(original, at)!.recordCount > 0)
    const start = offsets[offsets.length - 1]!
    // Torn right after the nested frame: the outer frame is cut short, the nested one is whole.
    const cut = start + 32 + 5 + inner.length + 3
    await overwrite(fs, path, original.subarray(0, cut))
    const again = await FileLog.open({ fs, dir })
    assert.equal(again.lastLsn, 5)
    assert.equal(await again.append([record(payloadFor('nest', 6, 1))]), 6)
    await again.close()
  })
})
