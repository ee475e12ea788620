/**
 * Model test of snapshot-driven trimming: over random writes, flushes, snapshots (keep-3
 * retention: the archived LSN is the oldest retained one's), trim holds and trims, the log is
 * never trimmed to a first LSN above min(durable, archived) + 1 nor above a hold, every record
 * from the first LSN on is still readable, and a trim that may go further does (whole segments).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { trimToArchived } from '../../src/snapshot/trim-to-archived.js'
import { TrimDelay } from '../../src/snapshot/trim-delay.js'
import { assertProperty } from '../helpers/seed.js'

type Op =
  | { kind: 'write'; count: number }
  | { kind: 'flush' }
  | { kind: 'snapshot' }
  | { kind: 'hold' }
  | { kind: 'release' }
  | { kind: 'trim' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hold' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'release' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'trim' as const }) },
)

const keep = 3

test('trimming never goes below min(durable, archived) nor past a hold, and keeps every record above', async () => {
  await assertProperty(
    fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
      const fs = new MemoryFileSystem()
      const store = await Store.open('/data', { fs, segmentBytesMax: 4096 })
      const p = await store.createPartition('p')
      const retained: number[] = []
      const holds: { fromLsn: number; release: () => void }[] = []
      let n = 0
      try {
        for (const op of ops) {
          switch (op.kind) {
            case 'write':
              for (let i = 0; i < op.count; i++) await p.put(`k${n++ % 13}`, `v${n} ${'x'.repeat(80)}`)
              break
            case 'flush':
              await p.flush()
              break
            case 'snapshot':
              if (retained.length === 0 || retained[0]! < p.appliedLsn) retained.unshift(p.appliedLsn)
              retained.splice(keep)
              break
            case 'hold': {
              const fromLsn = Math.max(p.firstLsn, p.lastLsn - 20)
              holds.push({ fromLsn, release: p.holdTrim(fromLsn, `hold ${holds.length}`) })
              break
            }
            case 'release':
              holds.shift()?.release()
              break
            case 'trim': {
              if (retained.length === 0) break
              const archived = retained[retained.length - 1]!
              const durableBefore = p.durableLsn
              const result = await trimToArchived(p, archived)
              const bound = Math.min(Math.max(durableBefore, p.durableLsn), archived) + 1
              assert.ok(result.firstLsn <= bound, `first LSN ${result.firstLsn} <= min(durable, archived) + 1 = ${bound}`)
              for (const h of holds) assert.ok(result.firstLsn <= h.fromLsn, `first LSN ${result.firstLsn} <= hold ${h.fromLsn}`)
              assert.equal(result.firstLsn, p.firstLsn)
              break
            }
          }
        }
        // Every record from the first LSN on is there, dense, and the state is whole.
        let expected = p.firstLsn
        for await (const e of p.read()) assert.equal(e.lsn, expected++)
        assert.equal(expected, p.lastLsn + 1)
        // And the partition reopens (no gap: state + kept log cover everything).
        for (const h of holds) h.release()
        await store.close()
        const again = await Store.open('/data', { fs })
        const q = await again.partition('p')
        assert.equal(q.lastLsn, n)
        await again.close()
      } finally {
        await store.close()
      }
    }),
    { numRuns: 25 },
  )
})

test('a trim that may go further does: past a flushed state and an archived LSN a few segments in', async () => {
  const fs = new MemoryFileSystem()
  const store = await Store.open('/data', { fs, segmentBytesMax: 4096 })
  const p = await store.createPartition('p')
  for (let i = 1; i <= 300; i++) await p.put(`k${i % 13}`, `v${i} ${'x'.repeat(80)}`)
  // Not flushed: the trim flushes first, since state is behind the archived LSN.
  const result = await trimToArchived(p, 250)
  assert.equal(result.flushed, true)
  assert.ok(result.firstLsn > 150 && result.firstLsn <= 251, `trimmed whole segments up to 251 (first LSN ${result.firstLsn})`)
  // Archived 0 (no snapshot): nothing goes.
  const other = await store.createPartition('o')
  for (let i = 1; i <= 200; i++) await other.put(`k${i}`, 'x'.repeat(80))
  await other.flush()
  assert.equal((await trimToArchived(other, 0)).firstLsn, 1)
  await store.close()
})

test('the trim delay answers an archived LSN only once it was seen delayMs ago, never going down', () => {
  const delay = new TrimDelay(1000)
  assert.equal(delay.observe('p', 10, 0), 0)
  assert.equal(delay.observe('p', 20, 500), 0)
  assert.equal(delay.observe('p', 30, 1000), 10)
  assert.equal(delay.observe('p', 30, 1499), 10)
  assert.equal(delay.observe('p', 30, 1500), 20)
  assert.equal(delay.observe('p', 5, 5000), 30, 'never down, even when told a lower LSN')
  assert.equal(new TrimDelay(0).observe('q', 7, 0), 7)
  const bounded = new TrimDelay(10_000)
  for (let i = 1; i <= 500; i++) bounded.observe('p', i, i)
  assert.ok(bounded.observe('p', 500, 10_500) >= 400)
})
