/**
 * Preallocation grows with use (issue 8, item 5): a segment that holds one record must not
 * take megabytes (a thousand auto-created partitions took 2 GB), while a busy segment still
 * grows in large steps so that most syncs do not change the file size.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'

const dir = '/d/log'
const rec = (bytes: number) => ({ type: 1, payload: new Uint8Array(bytes).fill(7) })

async function fileSize(mem: MemoryFileSystem): Promise<number> {
  const names = (await mem.list(dir)).filter((n) => n.endsWith('.log'))
  return (await mem.stat(`${dir}/${names[names.length - 1]!}`))!.size
}

describe('preallocation', () => {
  test('a segment with one small record takes at most 128 KiB', async () => {
    const mem = new MemoryFileSystem()
    const log = await FileLog.open({ fs: mem, dir })
    await log.append([rec(100)])
    assert.ok((await fileSize(mem)) <= 128 * 1024, `one record took ${await fileSize(mem)} bytes`)
    await log.close()
  })

  test('a busy segment grows in few, growing steps: most appends do not change the file size', async () => {
    const mem = new MemoryFileSystem()
    const log = await FileLog.open({ fs: mem, dir })
    let changes = 0
    let size = await fileSize(mem)
    const appends = 4000
    for (let i = 0; i < appends; i++) {
      await log.append([rec(1000)])
      const now = await fileSize(mem)
      assert.ok(now >= log.bytes, 'the file holds every frame')
      if (now !== size) changes += 1
      size = now
    }
    // ~4 MB of frames: 64 KiB, 128, 256, 512 KiB, then 1 MiB steps.
    assert.ok(changes <= 10, `the file size changed ${changes} times in ${appends} appends`)
    await log.close()
  })
})
