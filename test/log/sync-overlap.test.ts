/**
 * Two things a live log must get right around cut-backs and shared descriptors (found in review
 * after issue 6): an explicit `sync()` under durability 'none' and the roll's fsync run on one
 * descriptor, where Linux reports a writeback error to only one of them; and a read-only reader
 * that had scanned frames the writer later cut back and rewrote.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { testSeed, withSeed } from '../helpers/seed.js'

const dir = '/d/log'
const rec = (n: number, fill = 7) => ({ type: 1, payload: new Uint8Array(n).fill(fill) })
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}
const codeOf = (e: unknown) => (e instanceof CairnError ? e.code : String(e))
const baseSeed = testSeed(1)

test("under 'none', sync() never resolves over pages whose writeback error went to the roll's fsync", async () => {
  for (let seed = baseSeed; seed < baseSeed + 20; seed++) {
    const fs = new MemoryFileSystem({ seed })
    const log = await FileLog.open({ fs, dir, durability: 'none', segmentBytesMax: 4096 })
    await log.append([rec(3000)])
    await turns(5)
    const release = fs.holdSyncs()
    const synced = log.sync().then(() => 'resolved', codeOf)
    await turns(5)
    // A roll is due: it fsyncs the same descriptor while sync() is in flight.
    const appended = log.append([rec(2000)]).then(() => 'ok', codeOf)
    await turns(5)
    fs.failNextSync(`${dir}/00000000000000000001.log`)
    release()
    const [syncResult] = await Promise.all([synced, appended])
    await log.close().catch(() => undefined)
    fs.powerLoss({ keep: 'synced-only' })
    const reopened = await FileLog.open({ fs, dir }).catch((e: unknown) => assert.fail(`seed ${seed}: reopen failed: ${codeOf(e)} ${String(e)}`))
    if (syncResult === 'resolved') assert.ok(reopened.lastLsn >= 1, `seed ${seed}: sync() resolved but LSN 1 is gone`)
    else assert.equal(syncResult, 'LOG_FAILED', `seed ${seed}`)
    await reopened.close()
  }
})

test('a reader that scanned frames the writer then cut back follows the rewritten log', () => withSeed(baseSeed, async () => {
  const mem = new MemoryFileSystem({ seed: baseSeed })
  const fault = new FaultFileSystem(mem)
  const writer = await FileLog.open({ fs: fault, dir, segmentBytesMax: 4096 })
  await writer.append([rec(10)])
  const reader = await FileLog.open({ fs: mem, dir, readOnly: true, pollIntervalMs: 10 })
  await reader.refresh()
  assert.equal(reader.lastLsn, 1)
  const release = mem.holdSyncs()
  const a = writer.append([rec(500, 1)]).catch(codeOf) // LSN 2: written, its fsync held
  await turns(5)
  await reader.refresh() // sees A's whole frame, not yet proven durable
  assert.equal(reader.lastLsn, 1)
  fault.failWhen((op) => op.name === 'write', { once: true })
  const b = writer.append([rec(20, 2)]).catch(codeOf) // its write fails: A and B are cut back
  await turns(5)
  release()
  assert.equal(await a, 'IO_ERROR')
  assert.equal(await b, 'IO_ERROR')
  assert.equal(await writer.append([rec(40, 3)]), 2) // LSN 2 again, other bytes
  assert.equal(await writer.append([rec(40, 4)]), 3)
  await reader.refresh()
  assert.equal(reader.lastLsn, 3, 'the reader follows the rewritten tail')
  const payloads: number[] = []
  for await (const e of reader.read(1)) payloads.push(e.payload[0]!)
  assert.deepEqual(payloads, [7, 3, 4])
  await writer.append([rec(3900, 5)]) // rolls
  await writer.append([rec(10, 6)])
  await reader.refresh()
  assert.equal(reader.lastLsn, writer.lastLsn)
  await reader.close()
  await writer.close()
}))
