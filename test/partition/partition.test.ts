import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { type Reducer, Store } from '../../src/partition/index.js'

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

async function entries(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of it) out.push(`${text(k)}=${text(v)}`)
  return out
}

const bank: Reducer = (payload, lsn, tx) => {
  const e = JSON.parse(new TextDecoder().decode(payload)) as { type: string; id: string; amount?: number }
  if (e.type === 'open') tx.put(`acct/${e.id}`, JSON.stringify({ since: lsn }))
  else if (e.type === 'close') tx.delete(`acct/${e.id}`)
  else if (e.type === 'boom') throw new Error('bad event')
}

describe('Partition state', () => {
  test('write, get, scan, delete, deleteRange', async () => {
    const store = await Store.open('/data', { fs: new MemoryFileSystem() })
    const p = await store.ensurePartition('kv')
    assert.equal(await p.put('b', '2'), 1)
    await p.write({
      ops: [
        { type: 'put', key: 'a', value: '1' },
        { type: 'put', key: 'c', value: '3' },
        { type: 'put', key: 'd', value: '4' },
      ],
    })
    assert.equal(await p.getString('a'), '1')
    await p.putJson('j', { n: 1, s: 'x' })
    assert.deepEqual(await p.getJson('j'), { n: 1, s: 'x' })
    await p.delete('j')
    assert.deepEqual(await entries(p.scan()), ['a=1', 'b=2', 'c=3', 'd=4'])
    assert.deepEqual(await entries(p.scan({ gt: 'a', lt: 'd' })), ['b=2', 'c=3'])
    assert.deepEqual(await entries(p.scan({ reverse: true, limit: 2 })), ['d=4', 'c=3'])
    await p.delete('a')
    await p.deleteRange('b', 'd')
    assert.deepEqual(await entries(p.scan()), ['d=4'])
    assert.equal(p.appliedLsn, 6)
    assert.equal(p.info().appliedLsn, 6)
    await store.close()
  })

  test('a reducer turns payloads into state that commits with them; a throwing reducer writes nothing', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, reducer: bank })
    const p = await store.ensurePartition('bank')
    await p.append(['{"type":"open","id":"1"}', '{"type":"open","id":"2"}'])
    assert.deepEqual(await entries(p.scan()), ['acct/1={"since":1}', 'acct/2={"since":2}'])
    await assert.rejects(p.append(['{"type":"close","id":"1"}', '{"type":"boom","id":"x"}']), isCode('REDUCER_FAILED'))
    await assert.rejects(p.write({ payloads: ['{"type":"boom","id":"x"}'] }), isCode('REDUCER_FAILED'))
    assert.equal(p.lastLsn, 2)
    assert.equal(await p.getString('acct/1'), '{"since":1}')
    await p.write({ payloads: ['{"type":"close","id":"1"}'] })
    const read = []
    for await (const e of p.read()) read.push([e.lsn, text(e.payload), e.ops.length])
    assert.deepEqual(read, [
      [1, '{"type":"open","id":"1"}', 1],
      [2, '{"type":"open","id":"2"}', 1],
      [3, '{"type":"close","id":"1"}', 1],
    ])
    await store.close()
    // Replay uses the stored commands, not the reducer: a store opened without it has the same state.
    const again = await Store.open('/data', { fs })
    assert.deepEqual(await entries((await again.partition('bank')).scan()), ['acct/2={"since":2}'])
    await again.close()
  })

  test('bad keys and values are rejected before anything is logged', async () => {
    const store = await Store.open('/data', { fs: new MemoryFileSystem() })
    const p = await store.ensurePartition('kv')
    await assert.rejects(p.put(new Uint8Array(70 * 1024), 'x'), isCode('KEY_TOO_LARGE'))
    await assert.rejects(p.put('k', new Uint8Array(17 * 1024 * 1024)), (e: CairnError) => ['VALUE_TOO_LARGE', 'RECORD_TOO_LARGE'].includes(e.code))
    await assert.rejects(p.write({ ops: [{ type: 'nope' } as never] }), isCode('INVALID_ARGUMENT'))
    assert.equal(p.lastLsn, 0)
    await store.close()
  })

  test('state survives power loss and is replayed from the durable LSN; trim stops at the floor', async () => {
    const mem = new MemoryFileSystem()
    const store = await Store.open('/data', { fs: mem, memtableBytesMax: 16 * 1024, segmentBytesMax: 8192 })
    const p = await store.ensurePartition('kv')
    for (let i = 0; i < 400; i++) await p.put(`k${String(i).padStart(4, '0')}`, `v${i}-${'x'.repeat(40)}`)
    await p.flush()
    const floor = p.trimFloor
    assert.ok(floor > 1)
    for (let i = 400; i < 450; i++) await p.put(`k${String(i).padStart(4, '0')}`, `v${i}-${'x'.repeat(40)}`)
    const first = await p.trim(Number.MAX_SAFE_INTEGER)
    assert.ok(first <= floor, `trimmed to ${first}, floor ${floor}`)
    mem.powerLoss()
    const again = await Store.open('/data', { fs: mem, memtableBytesMax: 16 * 1024, segmentBytesMax: 8192 })
    const q = await again.partition('kv')
    assert.equal(q.appliedLsn, 450)
    assert.equal((await entries(q.scan())).length, 450)
    assert.equal(await q.getString('k0449'), `v449-${'x'.repeat(40)}`)
    await again.close()
  })

  test('an I/O error during a write surfaces, applies nothing, and a retry works', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem())
    const store = await Store.open('/data', { fs })
    const p = await store.ensurePartition('kv')
    await p.put('a', '1')
    fs.failWhen((op) => op.name === 'write', { once: true })
    await assert.rejects(p.put('b', '2'), isCode('IO_ERROR'))
    assert.equal(await p.get('b'), undefined)
    assert.equal(await p.put('b', '2'), 2)
    assert.equal(await p.getString('b'), '2')
    await store.close()
  })

  test('a failed fsync fails the log (LOG_FAILED, no retry over dropped pages); reopening goes on', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem())
    const store = await Store.open('/data', { fs })
    const p = await store.ensurePartition('kv')
    await p.put('a', '1')
    fs.failWhen((op) => op.name === 'sync', { once: true })
    await assert.rejects(p.put('b', '2'), isCode('LOG_FAILED'))
    await assert.rejects(p.put('b', '2'), isCode('LOG_FAILED'))
    await store.close().catch(() => undefined)
    const again = await Store.open('/data', { fs })
    const q = await again.partition('kv')
    assert.equal(await q.getString('a'), '1')
    assert.equal(await q.put('b', '2'), 2)
    await again.close()
  })
})
