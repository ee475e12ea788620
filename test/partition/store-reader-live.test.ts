/**
 * Read-only views opened again and again beside an owner that writes, flushes, compacts and
 * trims in a loop (real file system; the owner is a Store in this process, the reader takes no
 * lock). Every view must be one state of the partition: exactly the model's state at the view's
 * applied LSN, and at or past every write acknowledged before the view's open started.
 * Randomized: the seed comes from CAIRN_SEED when set and is printed on failure.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultSeed, type SeededRandom, seededRandom } from '../../src/io/seeded-random.js'
import { type ReadOnlyPartition, Store, StoreReader, type StateOpInput } from '../../src/partition/index.js'
import { withTempDir } from '../helpers/temp-dir.js'

const writesTotal = 1200
const viewsMin = 10
const keySpace = 48

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const keyOf = (i: number) => `k${String(i).padStart(2, '0')}`

type Op = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string } | { type: 'deleteRange'; start: string; end: string }

/** The partition's state at `lsn` by the writes made up to there (ops by LSN). */
function modelAt(history: Map<number, Op[]>, lsn: number): Map<string, string> {
  const state = new Map<string, string>()
  for (let l = 1; l <= lsn; l++) {
    for (const op of history.get(l) ?? []) {
      if (op.type === 'put') state.set(op.key, op.value)
      else if (op.type === 'delete') state.delete(op.key)
      else for (const k of [...state.keys()]) if (k >= op.start && k < op.end) state.delete(k)
    }
  }
  return state
}

function randomOps(rng: SeededRandom, lsn: number): Op[] {
  const roll = rng.next()
  if (roll < 0.8) return [{ type: 'put', key: keyOf(rng.int(0, keySpace - 1)), value: `v${lsn}-${'x'.repeat(rng.int(0, 80))}` }]
  if (roll < 0.93) return [{ type: 'delete', key: keyOf(rng.int(0, keySpace - 1)) }]
  const a = rng.int(0, keySpace - 1)
  return [{ type: 'deleteRange', start: keyOf(a), end: keyOf(a + rng.int(1, 6)) }]
}

async function checkView(view: ReadOnlyPartition, history: Map<number, Op[]>, ackedAtStart: number, rng: SeededRandom): Promise<void> {
  const applied = view.appliedLsn
  assert.ok(applied >= ackedAtStart, `the view (applied LSN ${applied}) shows every write acknowledged before it opened (up to ${ackedAtStart})`)
  assert.ok(history.has(applied) || applied === 0, `the view's LSN ${applied} is one that was written`)
  const expected = modelAt(history, applied)
  const seen = new Map<string, string>()
  for await (const [k, v] of view.scan()) seen.set(text(k), text(v))
  assert.deepEqual([...seen.entries()], [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), `scan at LSN ${applied}`)
  for (let i = 0; i < 8; i++) {
    const key = keyOf(rng.int(0, keySpace - 1))
    const value: Uint8Array | undefined = await view.get(key)
    assert.equal(value === undefined ? undefined : text(value), expected.get(key), `get ${key} at LSN ${applied}`)
  }
}

test('read-only views beside a writer that writes, flushes, compacts and trims: each is one consistent, up-to-date state', async () => {
  const seed = defaultSeed()
  try {
    await withTempDir(async (dir) => {
      const rng = seededRandom(seed)
      const readerRng = seededRandom((seed ^ 0x5bd1e995) >>> 0)
      const store = await Store.open(dir, { memtableBytesMax: 4096, segmentBytesMax: 4096 })
      const reader = await StoreReader.open(dir)
      try {
        const p = await store.ensurePartition('p')
        const history = new Map<number, Op[]>()
        let acked = 0
        let done = false
        let stop = false
        const writer = (async () => {
          try {
            for (let n = 0; n < writesTotal && !stop; n++) {
              // Recorded before the write: a view may show the LSN before this loop sees it resolve.
              const lsn = p.lastLsn + 1
              const ops = randomOps(rng, lsn)
              history.set(lsn, ops)
              assert.equal(await p.write({ ops: ops as StateOpInput[] }), lsn)
              acked = lsn
              const chore = rng.next()
              if (chore < 0.03) await p.flush()
              else if (chore < 0.045) await p.compact()
              else if (chore < 0.08) await p.trim(p.trimFloor)
            }
          } finally {
            done = true
          }
        })()
        let views = 0
        let kept: { view: ReadOnlyPartition; ackedAtStart: number } | undefined
        try {
          while (!done || views < viewsMin) {
            const ackedAtStart = acked
            const view = await reader.openPartition('p')
            views++
            await checkView(view, history, ackedAtStart, readerRng)
            // Now and then a view is kept across the writer's next rounds: it must not change.
            if (kept !== undefined) {
              await checkView(kept.view, history, kept.ackedAtStart, readerRng)
              await kept.view.close()
              kept = undefined
            }
            if (readerRng.next() < 0.3) kept = { view, ackedAtStart }
            else await view.close()
            // A pause now and then, so views start at many points of the writer's loop.
            await new Promise((resolve) => setTimeout(resolve, readerRng.int(0, 2)))
          }
        } finally {
          stop = true
          await writer
        }
        assert.ok(views >= viewsMin)
        const last = await reader.openPartition('p')
        assert.equal(last.appliedLsn, p.lastLsn)
        await checkView(last, history, acked, readerRng)
      } finally {
        await reader.close()
        await store.close()
      }
    })
  } catch (e) {
    throw new Error(`failed with seed ${seed} (rerun with CAIRN_SEED=${seed}): ${(e as Error).message}`, { cause: e })
  }
})
