/**
 * Batch bounds: a batch of state commands (written directly or emitted by a reducer) works up
 * to the record limit, however many commands it holds, and fails with BATCH_TOO_LARGE beyond it
 * with nothing logged and nothing applied.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { type Reducer, Store } from '../../src/partition/index.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

/** Emits `count` puts of 4-byte keys and empty values (13 bytes each in the record). */
const many: Reducer = (payload, _lsn, tx) => {
  const count = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true)
  const key = new Uint8Array(4)
  const view = new DataView(key.buffer)
  for (let i = 0; i < count; i++) {
    view.setUint32(0, i)
    tx.put(key, '')
  }
}

const countPayload = (n: number): Uint8Array => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, true)
  return b
}

describe('Partition: batch bounds', () => {
  test('a reducer emitting 150,000 commands works (no stack overflow), and replays', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, reducer: many })
    const p = await store.ensurePartition('r')
    await p.append([countPayload(150_000)])
    assert.equal(p.info().appliedLsn, 1)
    let n = 0
    for await (const _ of p.scan()) n++
    assert.equal(n, 150_000)
    await store.close()
    const again = await Store.open('/data', { fs, reducer: many })
    let m = 0
    for await (const _ of (await again.partition('r')).scan()) m++
    assert.equal(m, 150_000)
    await again.close()
  })

  test('a reducer emitting more than a record holds fails with BATCH_TOO_LARGE; nothing is logged', async () => {
    const recordBytesMax = 1024 * 1024
    const store = await Store.open('/data', { fs: new MemoryFileSystem(), reducer: many, recordBytesMax })
    const p = await store.ensurePartition('r')
    // 13 bytes per command: 90,000 commands are about 1.17 MB.
    await assert.rejects(p.append([countPayload(90_000)]), isCode('BATCH_TOO_LARGE'))
    await assert.rejects(p.write({ payloads: [countPayload(90_000)] }), isCode('BATCH_TOO_LARGE'))
    // A reducer that keeps going after the limit (it swallows the error) is stopped all the same.
    const stubborn: Reducer = (payload, lsn, tx) => {
      try {
        many(payload, lsn, tx)
      } catch {}
    }
    const s2 = await Store.open('/data2', { fs: new MemoryFileSystem(), reducer: stubborn, recordBytesMax })
    const q = await s2.ensurePartition('r')
    await assert.rejects(q.append([countPayload(90_000)]), isCode('BATCH_TOO_LARGE'))
    assert.equal(q.lastLsn, 0)
    await s2.close()
    // Just under the limit works.
    await p.append([countPayload(70_000)])
    assert.equal(p.lastLsn, 1)
    await store.close()
  })

  test('a write whose commands encode to more than a record holds fails with BATCH_TOO_LARGE', async () => {
    const store = await Store.open('/data', { fs: new MemoryFileSystem(), recordBytesMax: 64 * 1024 })
    const p = await store.ensurePartition('kv')
    const ops = Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 'v' }))
    await assert.rejects(p.write({ ops }), isCode('BATCH_TOO_LARGE'))
    assert.equal(p.lastLsn, 0)
    assert.equal(await p.get('k1'), undefined)
    await p.write({ ops: ops.slice(0, 1000) })
    assert.equal(await p.getString('k999'), 'v')
    await store.close()
  })
})
