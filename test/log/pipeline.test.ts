/**
 * Group commit with several syncs in flight: groups are acknowledged in order, and a failed
 * sync fails its group and every group written after it, none of which may survive.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog, syncDepthMax } from '../../src/log/index.js'
import { GatedFileSystem } from '../helpers/held-file-systems.js'

const rec = (s: string) => ({ type: 1, payload: new TextEncoder().encode(s) })
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

async function contents(log: FileLog): Promise<string[]> {
  const out: string[] = []
  for await (const e of log.read(log.firstLsn)) out.push(`${e.lsn}:${new TextDecoder().decode(e.payload)}`)
  return out
}

/** Appends one record every few turns while syncs are held: each becomes its own group. */
async function staggered(log: FileLog, names: string[]): Promise<Array<Promise<number>>> {
  const out: Array<Promise<number>> = []
  for (const name of names) {
    out.push(log.append([rec(name)]))
    for (let i = 0; i < 3; i++) await turn()
  }
  return out
}

describe('log pipeline', () => {
  test('overlapping group syncs are acknowledged in LSN order', async () => {
    const mem = new MemoryFileSystem()
    const fs = new GatedFileSystem(mem)
    const log = await FileLog.open({ fs, dir: '/d/log' })
    fs.hold()
    const writesBefore = fs.writes
    const appends = await staggered(log, ['a', 'b', 'c'])
    assert.equal(fs.writes - writesBefore, syncDepthMax, 'each append was written while the syncs before it were held')
    const order: number[] = []
    for (const p of appends) void p.then((lsn) => order.push(lsn))
    fs.release()
    assert.deepEqual(await Promise.all(appends), [1, 2, 3])
    assert.deepEqual(order, [1, 2, 3])
    await log.close()
    mem.powerLoss()
    const again = await FileLog.open({ fs, dir: '/d/log' })
    assert.deepEqual(await contents(again), ['1:a', '2:b', '3:c'])
    await again.close()
  })

  test('a failed sync fails its group, every later one and the log (LOG_FAILED); nothing of them survives a reopen', async () => {
    const mem = new MemoryFileSystem()
    const fs = new GatedFileSystem(mem)
    const log = await FileLog.open({ fs, dir: '/d/log' })
    assert.equal(await log.append([rec('kept')]), 1)
    fs.hold()
    fs.failWhen((op) => op.name === 'sync', { once: true })
    const writesBefore = fs.writes
    const appends = await staggered(log, ['x', 'y', 'z'])
    assert.ok(fs.writes - writesBefore >= 2, 'later groups were in flight when the first sync failed')
    fs.release()
    const results = await Promise.allSettled(appends)
    for (const r of results) {
      assert.equal(r.status, 'rejected')
      assert.equal(((r as PromiseRejectedResult).reason as CairnError).code, 'LOG_FAILED')
    }
    assert.equal(log.lastLsn, 1)
    assert.deepEqual(await contents(log), ['1:kept'])
    assert.throws(() => log.append([rec('retry')]), { code: 'LOG_FAILED' })
    await log.close()
    const reopened = await FileLog.open({ fs, dir: '/d/log' })
    assert.equal(await reopened.append([rec('retry')]), 2)
    await reopened.close()
    mem.powerLoss()
    const again = await FileLog.open({ fs, dir: '/d/log' })
    assert.deepEqual(await contents(again), ['1:kept', '2:retry'])
    await again.close()
  })
})
