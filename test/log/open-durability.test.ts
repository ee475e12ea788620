/**
 * Open makes durable what it trusts (issue 6, finding 4): a process killed with the page cache
 * intact leaves bytes and directory entries that are readable but not durable. The next
 * process must fsync them before it reports their LSNs as durable or builds on them, so that a
 * power loss afterwards cannot take back anything it relied on.
 *
 * "Killed" here: the first log is abandoned while its fsync never completes; the second opens
 * the same in-memory files (the page cache), then power is lost.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { HangingFileSystem } from '../helpers/held-file-systems.js'
import { readAll } from '../helpers/log-helpers.js'
import { testSeed, testSeeds, withSeed } from '../helpers/seed.js'

const dir = '/d/log'
/** Seeds what a power loss keeps; CAIRN_SEED replays a failing run. */
const seed = testSeed()
const rec = (s: string) => ({ type: 1, payload: new TextEncoder().encode(s) })
const text = (b: Uint8Array) => new TextDecoder().decode(b)

async function segmentSize(mem: MemoryFileSystem): Promise<number> {
  const names = (await mem.list(dir)).filter((n) => n.endsWith('.log'))
  return (await mem.stat(`${dir}/${names[names.length - 1]!}`))!.size
}

describe('open trusts only what is durable', () => {
  test('a last group whose sync never finished, ending exactly at the preallocated end, is synced before it counts', () => withSeed(seed, async () => {
    const mem = new MemoryFileSystem({ seed })
    const fs = new HangingFileSystem(mem)
    const first = await FileLog.open({ fs, dir })
    assert.equal(await first.append([rec('kept')]), 1)
    // Fill the segment exactly to its preallocated end: no zeros after it, no torn tail.
    const room = (await segmentSize(mem)) - first.bytes
    fs.hang = 'sync'
    void first.append([rec('x'.repeat(room - 32 - 5))]).catch(() => undefined)
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(await segmentSize(mem), first.bytes + room, 'the group ends exactly at the end of the file')
    // Killed here: the second process finds record 2 in the page cache.
    const second = await FileLog.open({ fs: mem, dir })
    assert.equal(second.lastLsn, 2)
    const durable = second.syncedLsn
    mem.powerLoss()
    const third = await FileLog.open({ fs: mem, dir })
    assert.ok(third.lastLsn >= durable, `LSN ${durable}, reported durable at open, survives power loss (log ends at ${third.lastLsn})`)
    await third.close()
  }))

  test('a rolled segment whose directory fsync never ran is made durable before appends go into it', () => withSeed(seed, async () => {
    const mem = new MemoryFileSystem({ seed })
    const fs = new HangingFileSystem(mem)
    const first = await FileLog.open({ fs, dir, segmentBytesMax: 4096 })
    assert.equal(await first.append([rec('a'.repeat(3000))]), 1)
    fs.hang = 'syncDir'
    void first.append([rec('b'.repeat(3000))]).catch(() => undefined)
    for (let i = 0; i < 20 && (await mem.list(dir)).filter((n) => n.endsWith('.log')).length < 2; i++) {
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.equal((await mem.list(dir)).filter((n) => n.endsWith('.log')).length, 2, 'the new segment was renamed into place')
    // Killed before the directory fsync; the next process appends into the new segment.
    const second = await FileLog.open({ fs: mem, dir, segmentBytesMax: 4096 })
    assert.equal(await second.append([rec('c')]), 2)
    mem.powerLoss()
    const third = await FileLog.open({ fs: mem, dir, segmentBytesMax: 4096 })
    assert.deepEqual(
      (await readAll(third)).map((e) => text(e.payload).slice(0, 1)),
      ['a', 'c'],
      'the acknowledged append survives',
    )
    await third.close()
  }))

  test('a writer killed between a failed fsync and its cut-back: the next open makes the frames it keeps durable', async () => {
    for (const seed of testSeeds([1, 2, 3])) {
      const mem = new MemoryFileSystem({ seed })
      const fs = new FaultFileSystem(mem)
      const first = await FileLog.open({ fs, dir })
      assert.equal(await first.append([rec('kept')]), 1)
      const [name] = (await mem.list(dir)).filter((n) => n.endsWith('.log'))
      mem.failNextSync(`${dir}/${name!}`)
      // The process dies just before the log cuts the failed group back.
      fs.failWhen((op) => {
        if (op.name !== 'truncate') return false
        mem.processCrash()
        return true
      })
      await assert.rejects(first.append([rec('unknown outcome')]), { code: 'LOG_FAILED' })
      const second = await FileLog.open({ fs: mem, dir })
      assert.equal(second.lastLsn, 2, 'the rejected append came back: its outcome was unknown')
      const durable = second.syncedLsn
      mem.powerLoss({ keep: 'synced-only' })
      const third = await FileLog.open({ fs: mem, dir })
      assert.ok(third.lastLsn >= durable, `seed ${seed}: LSN ${durable}, reported durable at open, survives power loss (log ends at ${third.lastLsn})`)
      await third.close()
    }
  })
})
