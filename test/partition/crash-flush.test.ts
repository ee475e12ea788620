/**
 * A flush never makes state durable past the log: after power loss the state's durable LSN is
 * at most the log's last LSN, so the partition opens, with state equal to the log.
 *
 * - under 'none' durability, writes acknowledged while the flush's log fsync is in flight are
 *   not flushed as durable (the memtable is frozen before the log is synced);
 * - records a crashed process wrote but never synced are replayed on open; a flush during that
 *   replay must not make them durable in state while the log may still lose them.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))
const key = (i: number) => `k${String(i).padStart(5, '0')}`
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

async function dump(p: Partition): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of p.scan()) out.push(`${text(k)}=${text(v)}`)
  return out
}

/** Every record of the log, replayed by hand: what state must equal. */
async function fromLog(p: Partition): Promise<string[]> {
  const state = new Map<string, string>()
  for await (const e of p.read()) {
    for (const op of e.ops) {
      if (op.type === 'put') state.set(text(op.key)!, text(op.value)!)
      else if (op.type === 'delete') state.delete(text(op.key)!)
    }
  }
  return [...state.keys()].sort().map((k) => `${k}=${state.get(k)}`)
}

describe('Partition: a flush is never durable past the log', () => {
  test("'none': writes acknowledged during the flush's log fsync are not flushed as durable", async () => {
    const fs = new MemoryFileSystem()
    const settings = { fs, durability: 'none' as const }
    const store = await Store.open('/data', settings)
    const p = await store.ensurePartition('kv')
    for (let i = 0; i < 20; i++) await p.put(key(i), `a${i}`)
    const release = fs.holdSyncs()
    const flushing = p.flush()
    await turns(5)
    // Acknowledged (written to the OS) while the log's fsync is held.
    for (let i = 20; i < 40; i++) await p.put(key(i), `b${i}`)
    release()
    await flushing
    const durable = p.durableLsn
    fs.powerLoss({ keep: 'synced-only' })
    const again = await Store.open('/data', settings)
    const q = await again.partition('kv')
    assert.ok(q.lastLsn >= 20, `the log kept what was synced (last LSN ${q.lastLsn})`)
    assert.ok(q.durableLsn <= q.lastLsn, `state durable to ${q.durableLsn}, log ends at ${q.lastLsn}`)
    assert.ok(durable <= q.lastLsn)
    assert.deepEqual(await dump(q), await fromLog(q))
    await again.close()
  })

  test('records a crashed process never synced are not made durable by a flush during replay', async () => {
    for (const durability of ['sync', 'none'] as const) {
      const fs = new MemoryFileSystem()
      const settings = { fs, durability, memtableBytesMax: 4 * 1024 }
      const store = await Store.open('/data', settings)
      const p = await store.ensurePartition('kv')
      await p.put('first', '1')
      await p.flush()
      // Written to the log file (page cache) but never synced: the process dies first.
      const release = fs.holdSyncs()
      const pending = Promise.allSettled(Array.from({ length: 200 }, (_, i) => p.put(key(i), 'x'.repeat(100))))
      await turns(10)
      fs.processCrash()
      release()
      await pending
      await store.close().catch(() => undefined)
      // The next process replays them (the page cache kept them), flushing as it goes.
      const second = await Store.open('/data', settings)
      const q = await second.partition('kv')
      assert.ok(q.lastLsn > 1, `the records were replayed (last LSN ${q.lastLsn})`)
      fs.powerLoss({ keep: 'synced-only' })
      const third = await Store.open('/data', settings)
      const r = await third.partition('kv')
      assert.ok(r.durableLsn <= r.lastLsn, `${durability}: state durable to ${r.durableLsn}, log ends at ${r.lastLsn}`)
      assert.deepEqual(await dump(r), await fromLog(r))
      await third.close()
    }
  })
})
