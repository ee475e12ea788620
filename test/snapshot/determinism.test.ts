/**
 * Invariant 6: the same state gives the same chunks and root hash, whatever the history that
 * led to it (batch sizes, flush and compaction points, deletes, range deletes), and the chunks
 * equal those of the state's sorted entries computed directly. Randomized (fast-check, seeded
 * from CAIRN_SEED).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, type StateOpInput, Store } from '../../src/partition/index.js'
import { type CanonicalChunk, canonicalChunks, rootHashOf } from '../../src/snapshot/index.js'
import { assertProperty } from '../helpers/seed.js'

const enc = new TextEncoder()

type Op = { type: 'put'; key: number; value: number; size: number } | { type: 'delete'; key: number } | { type: 'deleteRange'; start: number; end: number }

const keyOf = (k: number) => enc.encode(`k${String(k).padStart(5, '0')}`)
const valueFor = (v: number, size: number) => {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (v * 131 + i * 7) & 0xff
  return out
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constant('put' as const), key: fc.nat(3000), value: fc.nat(1000), size: fc.integer({ min: 1, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), key: fc.nat(3000) }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(3000), fc.integer({ min: 1, max: 200 })).map(([start, n]) => ({ type: 'deleteRange' as const, start, end: start + n })),
  },
)

function toInput(op: Op): StateOpInput {
  if (op.type === 'put') return { type: 'put', key: keyOf(op.key), value: valueFor(op.value, op.size) }
  if (op.type === 'delete') return { type: 'delete', key: keyOf(op.key) }
  return { type: 'deleteRange', start: keyOf(op.start), end: keyOf(op.end) }
}

/** The state the ops leave, as sorted entries (the model). */
function model(ops: Op[]): [Uint8Array, Uint8Array][] {
  const state = new Map<number, Uint8Array>()
  for (const op of ops) {
    if (op.type === 'put') state.set(op.key, valueFor(op.value, op.size))
    else if (op.type === 'delete') state.delete(op.key)
    else for (const k of [...state.keys()]) if (k >= op.start && k < op.end) state.delete(k)
  }
  return [...state.keys()].sort((a, b) => a - b).map((k) => [keyOf(k), state.get(k)!])
}

interface History {
  batch: number
  flushEvery: number
  compactEvery: number
}

async function apply(p: Partition, ops: Op[], h: History): Promise<void> {
  let batches = 0
  for (let i = 0; i < ops.length; i += h.batch) {
    await p.write({ ops: ops.slice(i, i + h.batch).map(toInput) })
    batches++
    if (batches % h.flushEvery === 0) await p.flush()
    if (batches % h.compactEvery === 0) await p.compact()
  }
}

async function chunksOf(entries: AsyncIterable<readonly [Uint8Array, Uint8Array]> | Iterable<readonly [Uint8Array, Uint8Array]>): Promise<CanonicalChunk[]> {
  const out: CanonicalChunk[] = []
  for await (const c of canonicalChunks(entries)) out.push(c)
  return out
}

async function snapshotChunks(p: Partition): Promise<CanonicalChunk[]> {
  const snap = p.readSnapshot()
  try {
    return await chunksOf(snap.scan())
  } finally {
    await snap.close()
  }
}

const historyArb = fc.record({ batch: fc.integer({ min: 1, max: 60 }), flushEvery: fc.integer({ min: 1, max: 8 }), compactEvery: fc.integer({ min: 2, max: 12 }) })

describe('canonical snapshot determinism', () => {
  test('two histories reaching one state give the same chunks and root as the model', async () => {
    await assertProperty(
      fc.asyncProperty(fc.array(opArb, { minLength: 50, maxLength: 700 }), historyArb, historyArb, async (ops, a, b) => {
        const expected = await chunksOf(model(ops))
        const roots: string[] = []
        for (const h of [a, b]) {
          const store = await Store.open('/data', { fs: new MemoryFileSystem() })
          try {
            const p = await store.ensurePartition('p')
            await apply(p, ops, h)
            const chunks = await snapshotChunks(p)
            assert.deepEqual(chunks.map((c) => [c.id, c.entries]), expected.map((c) => [c.id, c.entries]))
            roots.push(rootHashOf(chunks.map((c) => ({ id: c.id, bytes: c.bytes.length, entries: c.entries }))))
          } finally {
            await store.close()
          }
        }
        assert.equal(roots[0], roots[1])
      }),
      { numRuns: 12 },
    )
  })

  test('chunks average about the 64 KiB target whatever the entry size', async () => {
    for (const valueBytes of [20, 1000]) {
      const count = Math.min(99_999, Math.round(6e6 / (valueBytes + 8))) // keyOf pads to 5 digits
      const entries = Array.from({ length: count }, (_, i): [Uint8Array, Uint8Array] => [keyOf(i), valueFor(i, valueBytes)])
      const chunks = await chunksOf(entries)
      const mean = chunks.reduce((n, c) => n + c.bytes.length, 0) / chunks.length
      assert.ok(mean > 48 * 1024 && mean < 84 * 1024, `${valueBytes}-byte values: ${chunks.length} chunks of ${Math.round(mean)} bytes on average`)
    }
  })

  test('an unchanged key range keeps its chunk ids when another range changes', async () => {
    const entries = Array.from({ length: 20_000 }, (_, i): [Uint8Array, Uint8Array] => [keyOf(i), valueFor(i, 60)])
    const before = await chunksOf(entries)
    const changed = entries.map(([k, v], i): [Uint8Array, Uint8Array] => [k, i >= 10_000 && i < 10_050 ? valueFor(i + 1, 60) : v])
    const after = await chunksOf(changed)
    assert.ok(before.length > 10, `${before.length} chunks`)
    const same = new Set(before.map((c) => c.id))
    const differing = after.filter((c) => !same.has(c.id))
    assert.ok(differing.length >= 1 && differing.length <= 2, `${differing.length} chunks differ`)
    // Inserting entries shifts no boundary outside the chunk they land in (content-defined cuts).
    const inserted = [...entries.slice(0, 5001), [enc.encode('k05000a'), valueFor(1, 60)] as [Uint8Array, Uint8Array], ...entries.slice(5001)]
    const withInsert = await chunksOf(inserted)
    assert.ok(withInsert.filter((c) => !same.has(c.id)).length <= 2)
  })
})
