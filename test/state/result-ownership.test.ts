/**
 * What reads hand out is the caller's alone: the `.buffer` behind a value from `get` holds only
 * values reads handed out, and the buffer behind a scan entry holds only entries of that scan
 * (never a memtable slab, a cached block, or bytes the scan does not return: other keys,
 * shadowed versions, deleted values); writing anywhere into those buffers changes nothing the
 * engine returns afterwards.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree, type ReadSnapshot } from '../../src/state/index.js'
import { collect } from '../helpers/state-helpers.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b))
const key = (i: number): Uint8Array => enc(`k${String(i).padStart(5, '0')}`)
/** A marker no returned key or value holds: it must never show up in a result's buffer. */
const secret = 'SECRET'

function holds(haystack: Uint8Array, needle: string): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).includes(needle)
}

function whole(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer)
}

/**
 * A tree with data in the memtable, in a frozen-and-flushed L0 table and in an older L0 table:
 * even keys hold `v-i`, odd keys were deleted, and every hidden byte holds the secret.
 */
async function tree(): Promise<LsmTree> {
  const t = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/s', blockBytes: 1024, autoCompact: false })
  let lsn = 0
  for (let i = 0; i < 600; i++) t.apply(++lsn, [{ type: 'put', key: key(i), value: enc(`${secret}-old-${i}`) }])
  await t.flush()
  for (let i = 0; i < 600; i++) {
    t.apply(++lsn, [i % 2 === 0 ? { type: 'put', key: key(i), value: enc(`v-${i}`) } : { type: 'delete', key: key(i) }])
  }
  t.apply(++lsn, [{ type: 'deleteRange', start: key(400), end: key(500) }])
  await t.flush()
  // The memtable: new values for some keys, and deleted ones.
  for (let i = 0; i < 600; i += 10) t.apply(++lsn, [{ type: 'put', key: key(i), value: enc(`m-${i}`) }])
  for (let i = 5; i < 600; i += 10) t.apply(++lsn, [{ type: 'put', key: key(i), value: enc(`${secret}-deleted-${i}`) }])
  for (let i = 5; i < 600; i += 10) t.apply(++lsn, [{ type: 'delete', key: key(i) }])
  return t
}

const expectedValue = (i: number): string | undefined =>
  i >= 400 && i < 500 ? (i % 10 === 0 ? `m-${i}` : undefined) : i % 10 === 0 ? `m-${i}` : i % 2 === 0 ? `v-${i}` : undefined

test('state get: a value\'s buffer holds no engine data; writing anywhere into it changes nothing', async () => {
  const t = await tree()
  const snap = t.readSnapshot()
  // Memtable hits, cached and uncached table blocks, and the same through a snapshot.
  for (const source of [t, snap] as (LsmTree | ReadSnapshot)[]) {
    for (const i of [0, 2, 12, 300, 402, 410, 598]) {
      const v = await source.get(key(i))
      assert.equal(text(v), expectedValue(i), `key ${i}`)
      if (v === undefined) continue
      assert.ok(!holds(whole(v), secret), `hidden bytes behind the value of key ${i}`)
      assert.ok(!holds(whole(v), 'k00'), `keys behind the value of key ${i}`)
      whole(v).fill(0x21)
    }
  }
  for (const i of [0, 2, 12, 300, 402, 410, 598]) assert.equal(text(await t.get(key(i))), expectedValue(i))
  await snap.close()
  await t.close()
})

test('state scan: entry buffers hold only entries of that scan; writing into them changes nothing', async () => {
  const t = await tree()
  const before = await collect(t.scan())
  for (const reverse of [false, true]) {
    for (const range of [{}, { gte: key(100), lt: key(200) }, { gt: key(395), lte: key(505), limit: 7 }]) {
      const it = t.scan({ ...range, reverse })
      for await (const [k, v] of it) {
        assert.ok(!holds(whole(k), secret) && !holds(whole(v), secret), `hidden bytes behind ${new TextDecoder().decode(k)}`)
        const i = Number(new TextDecoder().decode(k).slice(1))
        assert.equal(text(v), expectedValue(i))
        k.fill(0x21)
        v.fill(0x21)
      }
    }
  }
  assert.deepEqual(await collect(t.scan()), before)
  // Writing into the whole buffer of an entry changes no later get or scan either.
  for await (const [k, v] of t.scan({ limit: 3 })) {
    whole(k).fill(0x21)
    whole(v).fill(0x21)
  }
  assert.deepEqual(await collect(t.scan()), before)
  assert.equal(text(await t.get(key(2))), 'v-2')
  await t.close()
})
