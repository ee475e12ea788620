/**
 * Model-based test with heavy deleteRange mixes: random writes (many of them range deletions
 * over a small key space, so tombstones overlap and shadow each other), reads, scans, read
 * snapshots, flushes, compactions (background too), reopens and power losses, against a
 * sorted-map model, with a tombstone trigger so low that reclaiming compactions run all the
 * time. Seeded from CAIRN_SEED (printed on failure); CAIRN_MODEL_RUNS sets the number of runs.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree, type ReadSnapshot, type ScanRange, type StateOp, type StateOptions } from '../../src/state/index.js'
import { assertSameState, collect, hex, Model, TestLog } from '../helpers/state-helpers.js'
import { testSeed } from '../helpers/seed.js'

const seed = testSeed()
const runs = Number(process.env.CAIRN_MODEL_RUNS ?? 150)

interface Real {
  fs: MemoryFileSystem
  tree: LsmTree
  log: TestLog
  options: StateOptions
  /** Compactions of the trees closed so far (stats count per open tree). */
  compactions: number
  snapshots: { snap: ReadSnapshot; model: Model }[]
}
interface ModelState {
  model: Model
}

const dir = '/store/state'
const optionsArb = fc.record({
  rangeTombstoneCountTrigger: fc.integer({ min: 1, max: 6 }),
  autoCompact: fc.boolean(),
  level0TableCountTrigger: fc.integer({ min: 1, max: 3 }),
})

/** Scan bounds may be empty; keys (and deleteRange bounds) are 1 byte or more. */
const boundArb = fc.array(fc.constantFrom(0, 1, 0x61, 0x62, 0xff), { minLength: 0, maxLength: 3 }).map((a) => new Uint8Array(a))
const keyArb = fc.array(fc.constantFrom(0, 1, 0x61, 0x62, 0xff), { minLength: 1, maxLength: 3 }).map((a) => new Uint8Array(a))
const valueArb = fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ minLength: 40, maxLength: 200 }))
const opArb: fc.Arbitrary<StateOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('deleteRange' as const), start: keyArb, end: keyArb }) },
  // Single-key deleteRanges, the shape of the audit's workload.
  { weight: 1, arbitrary: keyArb.map((k) => ({ type: 'deleteRange' as const, start: k, end: Buffer.concat([k, Buffer.from([0])]) })) },
)
const rangeArb: fc.Arbitrary<ScanRange> = fc.record({ gte: boundArb, lt: boundArb, reverse: fc.boolean(), limit: fc.integer({ min: 0, max: 20 }) }, { requiredKeys: [] })

function write(m: ModelState, r: Real, ops: StateOp[]): void {
  r.tree.apply(r.log.append(ops), ops)
  m.model.apply(ops)
}

const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? hex(x) : x))

const command = <A>(name: string, arb: fc.Arbitrary<A>, run: (m: ModelState, r: Real, a: A) => Promise<void>): fc.Arbitrary<fc.AsyncCommand<ModelState, Real>> =>
  arb.map((a) => ({ check: () => true, run: (m: ModelState, r: Real) => run(m, r, a), toString: () => `${name}(${show(a)})` }))

async function checkGet(tree: LsmTree | ReadSnapshot, model: Model, key: Uint8Array, why: string): Promise<void> {
  const got = await tree.get(key)
  const want = model.map.get(hex(key))
  assert.equal(got === undefined ? undefined : hex(got), want === undefined ? undefined : hex(want), `${why} get ${hex(key)}`)
}

const commands = [
  command('apply', fc.array(opArb, { minLength: 1, maxLength: 12 }), async (m, r, ops) => write(m, r, ops)),
  command('get', keyArb, (m, r, key) => checkGet(r.tree, m.model, key, 'tree')),
  command('scan', rangeArb, async (m, r, range) => {
    assert.deepEqual(await collect(r.tree.scan(range)), m.model.entries(range), `scan ${show(range)}`)
  }),
  command('openSnapshot', fc.constant(null), async (m, r) => {
    r.snapshots.push({ snap: r.tree.readSnapshot(), model: m.model.clone() })
    if (r.snapshots.length > 3) await r.snapshots.shift()!.snap.close()
  }),
  command('checkSnapshots', fc.tuple(rangeArb, keyArb), async (_m, r, [range, key]) => {
    for (const { snap, model } of r.snapshots) {
      assert.deepEqual(await collect(snap.scan(range)), model.entries(range), 'snapshot scan')
      await checkGet(snap, model, key, 'snapshot')
    }
  }),
  command('flush', fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { maxLength: 2 }), async (m, r, concurrent) => {
    const flushing = r.tree.flush()
    for (const ops of concurrent) write(m, r, ops)
    await flushing
  }),
  command('compact', fc.boolean(), async (_m, r, full) => {
    await r.tree.compact({ full })
  }),
  command('reopen', fc.constant(null), async (m, r) => {
    for (const s of r.snapshots) await s.snap.close()
    r.snapshots = []
    r.compactions += r.tree.stats().compactionCount
    await r.tree.close()
    r.tree = await LsmTree.open(r.options)
    r.log.replay(r.tree)
    await assertSameState(r.tree, m.model, 'after reopen')
  }),
  command('crash', fc.constant(null), async (m, r) => {
    r.snapshots = []
    r.compactions += r.tree.stats().compactionCount
    r.fs.powerLoss()
    await r.tree.close().catch(() => undefined)
    r.tree = await LsmTree.open(r.options)
    await assertSameState(r.tree, r.log.modelAt(r.tree.durableLsn), 'at durable LSN after power loss')
    r.log.replay(r.tree)
    await assertSameState(r.tree, m.model, 'after power loss and replay')
  }),
]

test('state model with heavy deleteRange mixes: agrees with a sorted map while tombstones are reclaimed', async () => {
  let reclaimed = 0
  let compactions = 0
  try {
    await fc.assert(
      fc.asyncProperty(optionsArb, fc.commands(commands, { maxCommands: 120, size: 'large' }), async (tuning, cmds) => {
        const fs = new MemoryFileSystem()
        const options: StateOptions = { fs, dir, memtableBytesMax: 2048, blockBytes: 128, tableBytesTarget: 1024, level1BytesMax: 2048, levelBytesMultiplier: 2, ...tuning }
        const real: Real = { fs, tree: await LsmTree.open(options), log: new TestLog(), options, compactions: 0, snapshots: [] }
        try {
          await fc.asyncModelRun(() => ({ model: { model: new Model() }, real }), cmds)
          await real.tree.flush()
          await real.tree.compact()
          await real.tree.idle()
          const s = real.tree.stats()
          compactions += real.compactions + s.compactionCount
          // After what is due has run, fewer live tombstones than the trigger remain.
          assert.ok(s.rangeTombstoneCount < tuning.rangeTombstoneCountTrigger, `${s.rangeTombstoneCount} live tombstones`)
          if (s.rangeTombstoneCount === 0) reclaimed++
          await assertSameState(real.tree, real.log.modelAt(real.log.lsn), 'at end')
          for (const { snap, model } of real.snapshots) assert.deepEqual(await collect(snap.scan()), model.entries(), 'snapshot at end')
          for (const s of real.snapshots) await s.snap.close()
          real.snapshots = []
          await real.tree.idle()
          const onDisk = (await fs.list(dir)).filter((n) => n.endsWith('.sst'))
          assert.equal(onDisk.length, real.tree.stats().tableCount, `files on disk: ${onDisk.join(',')}`)
        } finally {
          await real.tree.close()
        }
      }),
      { numRuns: runs, seed },
    )
  } catch (e) {
    throw new Error(`failed with seed ${seed} (rerun with CAIRN_SEED=${seed}): ${(e as Error).message}`, { cause: e })
  }
  console.log(`seed ${seed}: ${runs} runs, ${compactions} compactions, ${reclaimed} runs ended with every tombstone reclaimed`)
})
