/**
 * `Partition.cut()`: captured synchronously while writers keep writing, the acknowledged end of
 * the log; a copy of each file's first `bytes` bytes, opened as a log, holds exactly the LSNs up
 * to the cut's last one, with every write acknowledged before the cut, byte for byte. On the real
 * file system, where the active segment is preallocated past its data.
 */
import assert from 'node:assert/strict'
import { mkdir, open as openFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { test } from 'node:test'
import { NodeFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { Store } from '../../src/partition/index.js'
import { withTempDir } from '../helpers/temp-dir.js'

async function copyPrefix(from: string, to: string, bytes: number): Promise<void> {
  const src = await openFile(from, 'r')
  const dst = await openFile(to, 'w')
  try {
    const buffer = Buffer.alloc(bytes)
    const { bytesRead } = await src.read(buffer, 0, bytes, 0)
    assert.equal(bytesRead, bytes, `${from} holds the cut's ${bytes} bytes`)
    await dst.write(buffer, 0, bytes, 0)
  } finally {
    await src.close()
    await dst.close()
  }
}

const writers = 16
const cuts = 3

test(`a cut taken under ${writers} concurrent writers copies to a log holding exactly what was acknowledged before it`, async () => {
  await withTempDir(async (dir) => {
    // Small segments: the cut spans sealed segments and the active one.
    const store = await Store.open(join(dir, 'store'), { segmentBytesMax: 64 * 1024 })
    try {
      const p = await store.ensurePartition('p')
      const acked = new Map<number, string>()
      let stop = false
      let sent = 0
      const running = Array.from({ length: writers }, async (_, w) => {
        while (!stop) {
          const payload = `w${w}-${sent++}-${'x'.repeat(sent % 300)}`
          acked.set(await p.append([payload]), payload)
        }
      })
      try {
        for (let c = 0; c < cuts; c++) {
          // Let writes run for a while (some segments roll), then cut mid-stream.
          const target = acked.size + 1500
          while (acked.size < target) await new Promise((resolve) => setImmediate(resolve))
          const before = new Map(acked)
          const cut = p.cut()
          const ackedMax = Math.max(...before.keys())
          assert.ok(cut.lastLsn >= ackedMax, `the cut (${cut.lastLsn}) covers every write acknowledged before it (${ackedMax})`)
          assert.equal(cut.firstLsn, p.firstLsn)
          assert.ok(cut.files.length >= 2, 'the cut spans several segments')
          assert.ok(cut.files.every((f) => f.logId === p.logId))
          // Copy while the writers go on appending to the active segment.
          const copyDir = join(dir, `copy${c}`)
          await mkdir(copyDir)
          for (const f of cut.files) await copyPrefix(f.path, join(copyDir, basename(f.path)), f.bytes)
          const copy = await FileLog.open({ fs: new NodeFileSystem(), dir: copyDir })
          try {
            assert.equal(copy.firstLsn, cut.firstLsn)
            assert.equal(copy.lastLsn, cut.lastLsn, 'the copy ends exactly at the cut')
            assert.equal(copy.logId, p.logId)
            let next = cut.firstLsn
            for await (const e of copy.read(cut.firstLsn)) {
              assert.equal(e.lsn, next++)
              const want = before.get(e.lsn)
              if (want !== undefined) assert.equal(Buffer.from(e.payload).toString(), want, `LSN ${e.lsn} is the acknowledged write`)
            }
            assert.equal(next, cut.lastLsn + 1)
          } finally {
            await copy.close()
          }
        }
      } finally {
        stop = true
        await Promise.all(running)
      }
      assert.ok(p.lastLsn > 3 * 1500)
    } finally {
      await store.close()
    }
  })
})
