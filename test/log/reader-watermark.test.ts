/**
 * Readers see only what the writer has fsynced (issue 6, finding 7). A read-only log beside a
 * live writer used to show every whole frame, so a record whose sync then failed was shown, and
 * the writer went on to acknowledge a different record under the same LSN. Frames carry the
 * writer's durable LSN; a reader shows LSN n only once a frame proves n fsynced. When the
 * writer goes idle it writes a marker frame, so the last group shows as soon as it is
 * acknowledged (before its append resolves), and a reader never lags the writer by more than
 * the groups still in flight.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { readAll } from '../helpers/log-helpers.js'
import { testSeed, withSeed } from '../helpers/seed.js'

const dir = '/d/log'
/** Seeds what a power loss keeps; CAIRN_SEED replays a failing run. */
const seed = testSeed(1)
const rec = (s: string) => ({ type: 1, payload: new TextEncoder().encode(s) })
const text = (b: Uint8Array) => new TextDecoder().decode(b)
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

async function shown(reader: FileLog): Promise<string[]> {
  await reader.refresh()
  return (await readAll(reader)).map((e) => `${e.lsn}:${text(e.payload)}`)
}

describe('reader watermark', () => {
  test('a reader does not show a record whose sync has not finished, and a failed sync never gives its LSN to another record', () => withSeed(seed, async () => {
    const mem = new MemoryFileSystem({ seed: seed + 0 })
    const writer = await FileLog.open({ fs: mem, dir })
    assert.equal(await writer.append([rec('kept')]), 1)
    const reader = await FileLog.open({ fs: mem, dir, readOnly: true })
    assert.deepEqual(await shown(reader), ['1:kept'])
    const release = mem.holdSyncs()
    const pending = writer.append([rec('AAAA')])
    for (let i = 0; i < 5; i++) await turn()
    assert.deepEqual(await shown(reader), ['1:kept'], 'record 2 is written but not fsynced: not shown')
    assert.equal(reader.lastLsn, 1)
    const [name] = (await mem.list(dir)).filter((n) => n.endsWith('.log'))
    mem.failNextSync(`${dir}/${name!}`)
    release()
    await assert.rejects(pending, { code: 'LOG_FAILED' })
    assert.throws(() => writer.append([rec('BBBB')]), { code: 'LOG_FAILED' }, 'no other record gets LSN 2 on this log')
    assert.deepEqual(await shown(reader), ['1:kept'])
    await writer.close().catch(() => undefined)
    const reopened = await FileLog.open({ fs: mem, dir })
    assert.equal(await reopened.append([rec('BBBB')]), 2)
    assert.deepEqual(await shown(reader), ['1:kept', '2:BBBB'])
    await reopened.close()
    await reader.close()
  }))

  test('an idle writer: the last acknowledged group shows at once (a marker frame carries its durable LSN)', () => withSeed(seed, async () => {
    const mem = new MemoryFileSystem({ seed: seed + 1 })
    const writer = await FileLog.open({ fs: mem, dir })
    const reader = await FileLog.open({ fs: mem, dir, readOnly: true })
    for (let i = 1; i <= 3; i++) {
      assert.equal(await writer.append([rec(`r${i}`)]), i)
      assert.equal((await shown(reader)).length, i, `record ${i} shows once its append resolved`)
    }
    await writer.close()
    const again = await FileLog.open({ fs: mem, dir })
    assert.deepEqual((await readAll(again)).map((e) => text(e.payload)), ['r1', 'r2', 'r3'])
    await again.close()
    await reader.close()
  }))

  test("durability 'none': records show after sync()", () => withSeed(seed, async () => {
    const mem = new MemoryFileSystem({ seed: seed + 2 })
    const writer = await FileLog.open({ fs: mem, dir, durability: 'none' })
    const reader = await FileLog.open({ fs: mem, dir, readOnly: true })
    await writer.append([rec('a')])
    assert.deepEqual(await shown(reader), [], 'written, not fsynced')
    await writer.sync()
    assert.deepEqual(await shown(reader), ['1:a'])
    await writer.close()
    await reader.close()
  }))
})
