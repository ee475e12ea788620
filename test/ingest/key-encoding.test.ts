/** Keys of source rows sort like their primary keys (integers, text in C order, uuid, tuples), table by table. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { encodeKey, tableRange } from '../../src/ingest/postgres/key-encoding.js'
import { assertProperty } from '../helpers/seed.js'

const int8 = { typeOid: 20 }
const int4 = { typeOid: 23 }
const text = { typeOid: 25 }
const uuid = { typeOid: 2950 }

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0)

test('integer keys (safe and beyond 2^53, negative too) sort numerically', async () => {
  await assertProperty(
    fc.asyncProperty(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), async (a, b) => {
      const ka = encodeKey('public.t', [int8], [a.toString()])
      const kb = encodeKey('public.t', [int8], [b.toString()])
      assert.equal(sign(compareBytes(ka, kb)), a < b ? -1 : a > b ? 1 : 0)
    }),
  )
  assert.ok(compareBytes(encodeKey('public.t', [int4], ['-1']), encodeKey('public.t', [int4], ['0'])) < 0)
})

test('tuples of text and integers sort column by column (text bytewise, a prefix first)', async () => {
  await assertProperty(
    fc.asyncProperty(fc.tuple(fc.string(), fc.integer()), fc.tuple(fc.string(), fc.integer()), async ([sa, ia], [sb, ib]) => {
      const ka = encodeKey('public.t', [text, int4], [sa, String(ia)])
      const kb = encodeKey('public.t', [text, int4], [sb, String(ib)])
      const byText = Buffer.compare(Buffer.from(sa), Buffer.from(sb))
      assert.equal(sign(compareBytes(ka, kb)), byText !== 0 ? byText : sign(ia - ib))
    }),
  )
})

test('uuid keys sort as their bytes; every key of a table is inside its range and no other table is', () => {
  const a = encodeKey('public.t', [uuid], ['00000000-0000-0000-0000-0000000000ff'])
  const b = encodeKey('public.t', [uuid], ['0000000f-0000-0000-0000-000000000000'])
  assert.ok(compareBytes(a, b) < 0)
  const { start, end } = tableRange('public.t')
  for (const k of [a, b, encodeKey('public.t', [int8], ['-9223372036854775808'])]) assert.ok(compareBytes(start, k) <= 0 && compareBytes(k, end) < 0)
  const other = encodeKey('public.t2', [int4], ['1'])
  assert.ok(!(compareBytes(start, other) <= 0 && compareBytes(other, end) < 0))
})
