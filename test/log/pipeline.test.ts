/**
 * Group commit with several syncs in flight: groups are acknowledged in order, and a failed
 * sync fails its group and every group written after it, none of which may survive.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { Log, syncDepthMax } from '../../src/log/index.js'

const rec = (s: string) => ({ type: 1, payload: new TextEncoder().encode(s) })

async function contents(log: Log): Promise<string[]> {
  const out: string[] = []
  for await (const e of log.read(log.firstLsn)) out.push(`${e.lsn}:${new TextDecoder().decode(e.payload)}`)
  return out
}

/** Starts appends one turn apart so that each becomes its own group, syncs overlapping. */
async function staggered(log: Log, names: string[]): Promise<Array<Promise<number>>> {
  const out: Array<Promise<number>> = []
  for (const name of names) {
    out.push(log.append([rec(name)]))
    await Promise.resolve()
  }
  return out
}

describe('log pipeline', () => {
  test('overlapping group syncs are acknowledged in LSN order', async () => {
    const mem = new MemoryFileSystem()
    const fs = new FaultFileSystem(mem)
    let syncs = 0
    fs.failWhen((op) => {
      if (op.name === 'sync') syncs += 1
      return false
    })
    const log = await Log.open({ fs, dir: '/d/log' })
    const order: number[] = []
    const appends = await staggered(log, ['a', 'b', 'c', 'd', 'e', 'f'])
    for (const p of appends) void p.then((lsn) => order.push(lsn))
    assert.deepEqual(await Promise.all(appends), [1, 2, 3, 4, 5, 6])
    assert.deepEqual(order, [1, 2, 3, 4, 5, 6])
    assert.ok(syncs >= 2, `groups synced separately (${syncs} syncs)`)
    assert.ok(syncDepthMax >= 2)
    await log.close()
    mem.powerLoss()
    const again = await Log.open({ fs, dir: '/d/log' })
    assert.deepEqual(await contents(again), ['1:a', '2:b', '3:c', '4:d', '5:e', '6:f'])
    await again.close()
  })

  test('a failed sync fails its group and every later one; nothing of them survives; a retry reuses the LSNs', async () => {
    const mem = new MemoryFileSystem()
    const fs = new FaultFileSystem(mem)
    const log = await Log.open({ fs, dir: '/d/log' })
    assert.equal(await log.append([rec('kept')]), 1)
    let syncs = 0
    let writes = 0
    fs.failWhen((op) => {
      if (op.name === 'write') writes += 1
      return op.name === 'sync' && ++syncs === 1
    })
    const appends = await staggered(log, ['x', 'y', 'z'])
    const results = await Promise.allSettled(appends)
    assert.ok(results.every((r) => r.status === 'rejected'), JSON.stringify(results.map((r) => r.status)))
    for (const r of results) assert.equal(((r as PromiseRejectedResult).reason as CairnError).code, 'IO_ERROR')
    assert.ok(writes >= 2, `the failed group had later groups in flight (${writes} group writes)`)
    assert.equal(log.lastLsn, 1)
    assert.deepEqual(await contents(log), ['1:kept'])
    assert.equal(await log.append([rec('retry')]), 2)
    await log.close()
    mem.powerLoss()
    const again = await Log.open({ fs, dir: '/d/log' })
    assert.deepEqual(await contents(again), ['1:kept', '2:retry'])
    await again.close()
  })
})
