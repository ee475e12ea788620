/**
 * A failed fsync is fatal for the log (issue 6, finding 2): on Linux it marks the dirty pages
 * clean without writing them, so a retry "succeeds" over lost bytes. Every sync path (group
 * commit, `sync()` under durability 'none', the segment roll, trim, close) turns the log to
 * LOG_FAILED, no LSN is handed out twice, and reopening recovers what is on disk.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { readAll, textOf as text, textRecord as rec } from '../helpers/log-helpers.js'

const dir = '/d/log'

function codeOf(e: unknown): string {
  assert.ok(e instanceof CairnError, `${String(e)} is a CairnError`)
  return e.code
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return codeOf(e)
  }
  assert.fail('expected a rejection')
}

function thrown(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return codeOf(e)
  }
  assert.fail('expected a throw')
}

async function setup(durability: 'sync' | 'none', segmentBytesMax?: number) {
  const mem = new MemoryFileSystem()
  const fs = new FaultFileSystem(mem)
  const log = await FileLog.open({ fs, dir, durability, ...(segmentBytesMax === undefined ? {} : { segmentBytesMax }) })
  return { mem, fs, log }
}

describe('a failed fsync fails the log', () => {
  test("group commit: the group is rejected, the log refuses work, and its LSN is never handed out again", async () => {
    const { fs, log } = await setup('sync')
    assert.equal(await log.append([rec('kept')]), 1)
    fs.failWhen((op) => op.name === 'sync', { once: true })
    assert.equal(await rejection(log.append([rec('lost')])), 'LOG_FAILED')
    assert.equal(thrown(() => log.append([rec('retry')])), 'LOG_FAILED', 'no retry on the same log')
    assert.equal(await rejection(log.sync()), 'LOG_FAILED')
    await log.close().catch(() => undefined)
    const again = await FileLog.open({ fs, dir })
    assert.deepEqual((await readAll(again)).map((e) => text(e.payload)), ['kept'])
    await again.close()
  })

  test("sync() under durability 'none': a second sync() does not succeed over the dropped pages", async () => {
    const { fs, log } = await setup('none')
    await log.append([rec('a')])
    fs.failWhen((op) => op.name === 'sync', { once: true })
    assert.equal(await rejection(log.sync()), 'LOG_FAILED')
    assert.equal(await rejection(log.sync()), 'LOG_FAILED', 'the retry reports the failure')
    assert.equal(thrown(() => log.append([rec('b')])), 'LOG_FAILED')
    await log.close().catch(() => undefined)
  })

  test('segment roll: a failed fsync of the sealed segment fails the log', async () => {
    const { fs, log } = await setup('sync', 4096)
    assert.equal(await log.append([rec('x'.repeat(3000))]), 1)
    fs.failWhen((op) => op.name === 'sync', { once: true })
    // The sealing sync fails; the append that needed the roll fails with it.
    assert.equal(await rejection(log.append([rec('y'.repeat(3000))])), 'LOG_FAILED')
    assert.equal(thrown(() => log.append([rec('z')])), 'LOG_FAILED')
    await log.close().catch(() => undefined)
  })

  test('trim: a failed directory fsync fails the log', async () => {
    const { fs, log } = await setup('sync', 4096)
    for (let i = 0; i < 4; i++) await log.append([rec('x'.repeat(3000))])
    assert.ok(log.segmentCount >= 3)
    fs.failWhen((op) => op.name === 'syncDir', { once: true })
    assert.equal(await rejection(log.trim(3)), 'LOG_FAILED')
    assert.equal(await rejection(log.trim(3)), 'LOG_FAILED')
    await log.close().catch(() => undefined)
    const again = await FileLog.open({ fs, dir, segmentBytesMax: 4096 })
    assert.equal(again.lastLsn, 4)
    await again.close()
  })

  test('close: a failed fsync is reported as LOG_FAILED', async () => {
    const { fs, log } = await setup('none')
    await log.append([rec('a')])
    fs.failWhen((op) => op.name === 'sync', { once: true })
    assert.equal(await rejection(log.close()), 'LOG_FAILED')
  })

  test('a failed write (not a sync) still rewinds: the next append reuses the LSN', async () => {
    const { fs, log } = await setup('sync')
    assert.equal(await log.append([rec('kept')]), 1)
    fs.failWhen((op) => op.name === 'write', { once: true })
    assert.equal(await rejection(log.append([rec('lost')])), 'IO_ERROR')
    assert.equal(await log.append([rec('retry')]), 2)
    assert.deepEqual((await readAll(log)).map((e) => text(e.payload)), ['kept', 'retry'])
    await log.close()
  })
})
