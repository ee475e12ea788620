/**
 * The streaming pre-check agrees with a full parse: any valid body of at most `itemsMax` items,
 * split anywhere (inside escapes, between backslashes and quotes), passes; one item more is
 * refused. Randomized: the seed comes from CAIRN_SEED and is printed on failure.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { CairnError } from '../../src/io/errors.js'
import { JsonShapeGuard } from '../../src/server/json-shape-guard.js'
import { ApiError } from '../../src/wire/index.js'

const seed = Number(process.env.CAIRN_SEED ?? Date.now() % 2 ** 31)

/** Text full of what a scanner can get wrong: quotes, backslashes, brackets, commas. */
const trickyText = fc.array(fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', 'a', ' ', '\\"', '\\\\', 'é', '\u0000'), { maxLength: 12 }).map((a) => a.join(''))

function feed(body: Buffer, cuts: number[], itemsMax: number): unknown {
  const guard = new JsonShapeGuard(itemsMax, 3)
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b)
  let from = 0
  try {
    for (const p of [...points, body.length]) {
      guard.push(body.subarray(from, p))
      from = p
    }
    return undefined
  } catch (e) {
    return e
  }
}

test('json shape guard: at most itemsMax items pass however the body is cut; one more is refused', () => {
  try {
    fc.assert(
      fc.property(
        fc.array(trickyText, { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        (payloads, cuts, ops) => {
          const items = ops ? payloads.map((p) => ({ type: 'put', key: p, value: p })) : payloads.map((payload) => ({ payload }))
          const body = Buffer.from(JSON.stringify(ops ? { ops: items } : { records: items }))
          assert.equal(feed(body, cuts, items.length), undefined)
          const refused = feed(body, cuts, items.length - 1)
          if (items.length > 1) {
            assert.ok(refused instanceof CairnError && refused.code === 'BATCH_TOO_LARGE', String(refused))
          }
        },
      ),
      { seed, numRuns: 500 },
    )
  } catch (e) {
    console.log(`json-shape-guard failed with CAIRN_SEED=${seed}`)
    throw e
  }
})

test('json shape guard: nesting deeper than the bound is refused before parsing', () => {
  const refused = feed(Buffer.from(`{"records":[${'['.repeat(1000)}`), [5, 17], 10)
  assert.ok(refused instanceof ApiError && refused.code === 'INVALID_REQUEST', String(refused))
  assert.equal(feed(Buffer.from('{"records":[{"payload":"[[[[{{{{"}]}'), [], 10), undefined)
})

test('json shape guard: members are counted at every depth, so a key flood is refused before parsing', () => {
  const flood = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')
  const itemsMax = 10
  // Keys at depth 1, inside a record (depth 3), and elements of an array nested in an item.
  for (const body of [`{${flood(1000)},"records":[{"payload":"x"}]}`, `{"records":[{${flood(1000)},"payload":"x"}]}`, `{"records":[[${'0,'.repeat(1000)}0]]}`]) {
    const refused = feed(Buffer.from(body), [7, 300], itemsMax)
    assert.ok(refused instanceof CairnError && refused.code === 'BATCH_TOO_LARGE', `${body.slice(0, 40)}: ${String(refused)}`)
  }
  // The fullest valid body (itemsMax ops of three members each) still passes.
  const ops = Array.from({ length: itemsMax }, (_, i) => ({ type: 'deleteRange', start: `a${i}`, end: `b${i}` }))
  assert.equal(feed(Buffer.from(JSON.stringify({ ops })), [3], itemsMax), undefined)
})
