/**
 * A partition applies to state exactly what its log holds: a caller that reuses its key, value
 * or payload buffers right after a write (before the write is durable) changes neither state nor
 * the log, and a reopen gives the same state as before.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { type Reducer, Store } from '../../src/partition/index.js'

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

async function dump(p: { scan(): AsyncIterable<[Uint8Array, Uint8Array]> }): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of p.scan()) out.push(`${text(k)}=${text(v)}`)
  return out
}

/** Writes `with` into `target` in place (same length). */
function overwrite(target: Uint8Array, withText: string): void {
  target.set(new TextEncoder().encode(withText))
}

describe('Partition: reused caller buffers', () => {
  for (const durability of ['sync', 'none'] as const) {
    test(`put, then the key and value buffers are reused before the write is durable (${durability})`, async () => {
      const fs = new MemoryFileSystem()
      const store = await Store.open('/data', { fs, durability })
      const p = await store.ensurePartition('kv')
      const key = new TextEncoder().encode('k1')
      const value = new TextEncoder().encode('v1')
      const written = p.put(key, value)
      await turn()
      overwrite(key, 'k2')
      overwrite(value, 'v2')
      await written
      const live = await dump(p)
      assert.deepEqual(live, ['k1=v1'])
      await store.close()
      const again = await Store.open('/data', { fs, durability })
      assert.deepEqual(await dump(await again.partition('kv')), live)
      await again.close()
    })
  }

  test('write with ops and payloads, then every buffer is reused', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs })
    const p = await store.ensurePartition('kv')
    const k = new TextEncoder().encode('a1')
    const v = new TextEncoder().encode('x1')
    const start = new TextEncoder().encode('m1')
    const end = new TextEncoder().encode('m9')
    await p.put('m5', 'keep?')
    const written = p.write({ ops: [{ type: 'put', key: k, value: v }, { type: 'deleteRange', start, end }, { type: 'delete', key: k }, { type: 'put', key: 'b', value: v }] })
    await turn()
    overwrite(k, 'zz')
    overwrite(v, 'yy')
    overwrite(start, 'a0')
    overwrite(end, 'a0')
    await written
    const live = await dump(p)
    assert.deepEqual(live, ['b=x1'])
    await store.close()
    const again = await Store.open('/data', { fs })
    assert.deepEqual(await dump(await again.partition('kv')), live)
    await again.close()
  })

  test('a reducer whose ops point into the payload: the payload buffer is reused after append', async () => {
    // The reducer keys state by the payload's bytes themselves (a subarray, no copy).
    const reducer: Reducer = (payload, _lsn, tx) => tx.put(payload.subarray(0, 2), payload.subarray(2))
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs, reducer })
    const p = await store.ensurePartition('r')
    const payload = new TextEncoder().encode('k1v1')
    const appended = p.append([payload])
    await turn()
    overwrite(payload, 'k2v2')
    await appended
    const single = new TextEncoder().encode('k3v3')
    const written = p.write({ payloads: [single] })
    await turn()
    overwrite(single, 'k4v4')
    await written
    const live = await dump(p)
    assert.deepEqual(live, ['k1=v1', 'k3=v3'])
    const logged = []
    for await (const e of p.read()) logged.push(text(e.payload))
    assert.deepEqual(logged, ['k1v1', 'k3v3'])
    await store.close()
    const again = await Store.open('/data', { fs, reducer })
    assert.deepEqual(await dump(await again.partition('r')), live)
    await again.close()
  })

  test('a payload without state commands: the log holds the bytes of the call', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs })
    const p = await store.ensurePartition('log')
    const payload = new TextEncoder().encode('first')
    const appended = p.append([payload])
    overwrite(payload, 'later')
    await appended
    const logged = []
    for await (const e of p.read()) logged.push(text(e.payload))
    assert.deepEqual(logged, ['first'])
    await store.close()
  })
})
