/**
 * In-process A/B of the partition's hot paths: the `Store` of an older checkout of cairn against
 * this tree's, run alternately over several rounds on the real file system (the machine's speed
 * swings between runs; within one process, alternating, the two see the same swings). Prints each
 * case's per-round figures, the medians, and the median of the per-round ratios (each round's two
 * runs are back to back, so their ratio is the figure least moved by the machine's swings), both
 * per second of wall time and per second of the process's CPU time (user + system, all threads):
 * on a machine shared with other work, CPU time moves far less than wall time.
 *
 *   CAIRN_AB_BASE=<path of an older checkout> node --import tsx bench/ab-partition.ts
 *
 * CAIRN_AB_ROUNDS (default 7), CAIRN_AB_SECONDS per timed case (default 1), CAIRN_AB_RECORDS for
 * the read and scan cases (default 1,000,000), CAIRN_AB_CASES (comma-separated case names).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Store as StoreNew } from '../src/partition/index.js'
import { median } from './harness.js'

type StoreClass = typeof StoreNew
type Partition = Awaited<ReturnType<StoreNew['ensurePartition']>>

const baseDir = process.env.CAIRN_AB_BASE
if (baseDir === undefined) {
  console.error('set CAIRN_AB_BASE to the path of the checkout to compare against')
  process.exit(2)
}
const rounds = Number(process.env.CAIRN_AB_ROUNDS ?? 7)
const seconds = Number(process.env.CAIRN_AB_SECONDS ?? 1)
const records = Number(process.env.CAIRN_AB_RECORDS ?? 1_000_000)
const only = process.env.CAIRN_AB_CASES?.split(',')
const writers = 64
const batchPuts = 1000
const cachedKeys = 10_000

const { Store: StoreBase } = (await import(pathToFileURL(resolve(baseDir, 'src/partition/index.ts')).href)) as { Store: StoreClass }
const impls: Array<{ name: string; Store: StoreClass }> = [
  { name: 'base', Store: StoreBase },
  { name: 'new', Store: StoreNew },
]

const value = new Uint8Array(100).fill(0x61)
function keyOf(i: number): Uint8Array {
  const k = new Uint8Array(16)
  new DataView(k.buffer).setUint32(12, i)
  new DataView(k.buffer).setUint32(0, Math.imul(i, 0x9e3779b9) >>> 0)
  return k
}

/** Operations done, with the wall and CPU seconds they took. */
interface Measure {
  ops: number
  wall: number
  cpu: number
}

async function measure(body: () => Promise<number>): Promise<Measure> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const ops = await body()
  const used = process.cpuUsage(cpu)
  return { ops, wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 }
}

/** Runs `body` (which returns the operations it did) for `seconds` of wall time. */
function timed(body: () => Promise<number>): Promise<Measure> {
  return measure(async () => {
    const start = performance.now()
    let ops = 0
    while (performance.now() - start < seconds * 1000) ops += await body()
    return ops
  })
}

interface Fixture {
  dir: string
  store: StoreNew
  log: Partition
  kv: Partition
}

/** Per implementation: a store with a log of `records` records and a state of `records` keys (compacted). */
async function fixture(Store: StoreClass): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-ab-'))
  const store = await Store.open(dir, { durability: 'none' })
  const log = await store.ensurePartition('log')
  const kv = await store.ensurePartition('kv')
  const payloads = Array.from({ length: 1000 }, () => value)
  for (let i = 0; i < records; i += 1000) await log.append(payloads)
  for (let i = 0; i < records; i += batchPuts) {
    const ops = []
    for (let j = i; j < i + batchPuts; j++) ops.push({ type: 'put' as const, key: keyOf(j), value })
    await kv.write({ ops })
  }
  await kv.compact()
  for (let i = 0; i < cachedKeys; i++) await kv.get(keyOf(i))
  return { dir, store, log, kv }
}

/** A case runs once per implementation per round. */
type Case = (Store: StoreClass, f: Fixture) => Promise<Measure>

async function withFreshPartition(Store: StoreClass, body: (p: Partition) => Promise<Measure>): Promise<Measure> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-ab-'))
  const store = await Store.open(dir)
  try {
    return await body(await store.ensurePartition('p'))
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const cases: Record<string, { unit: string; run: Case }> = {
  'put, 1 writer awaiting each': {
    unit: 'puts/s',
    run: (Store) =>
      withFreshPartition(Store, (p) => {
        let i = 0
        return timed(async () => {
          await p.put(keyOf(i++), value)
          return 1
        })
      }),
  },
  [`put, ${writers} concurrent`]: {
    unit: 'puts/s',
    run: (Store) =>
      withFreshPartition(Store, (p) =>
        measure(async () => {
          let i = 0
          let ops = 0
          const until = performance.now() + seconds * 1000
          await Promise.all(
            Array.from({ length: writers }, async () => {
              while (performance.now() < until) {
                await p.put(keyOf(i++), value)
                ops++
              }
            }),
          )
          return ops
        }),
      ),
  },
  [`write of ${batchPuts} puts`]: {
    unit: 'puts/s',
    run: (Store) =>
      withFreshPartition(Store, (p) => {
        let i = 0
        return timed(async () => {
          const ops = []
          for (let j = 0; j < batchPuts; j++) ops.push({ type: 'put' as const, key: keyOf(i++), value })
          await p.write({ ops })
          return batchPuts
        })
      }),
  },
  [`read() of ${records} records`]: {
    unit: 'records/s',
    run: (_Store, f) =>
      measure(async () => {
        let n = 0
        for await (const _ of f.log.read()) n++
        if (n !== records) throw new Error(`read ${n} records, expected ${records}`)
        return n
      }),
  },
  'cached get': {
    unit: 'gets/s',
    run: (_Store, f) => {
      let i = 0
      return timed(async () => {
        for (let j = 0; j < 100; j++) {
          if ((await f.kv.get(keyOf(i++ % cachedKeys))) === undefined) throw new Error('missing key')
        }
        return 100
      })
    },
  },
  [`scan of ${records} entries`]: {
    unit: 'entries/s',
    run: (_Store, f) =>
      measure(async () => {
        let n = 0
        for await (const _ of f.kv.scan()) n++
        if (n !== records) throw new Error(`scanned ${n} entries, expected ${records}`)
        return n
      }),
  },
}

const fixtures = new Map<string, Fixture>()
for (const impl of impls) {
  const t = performance.now()
  fixtures.set(impl.name, await fixture(impl.Store))
  console.log(`fixture ${impl.name}: ${((performance.now() - t) / 1000).toFixed(1)} s`)
}
const results = new Map<string, Map<string, Measure[]>>()
try {
  for (let r = 0; r < rounds; r++) {
    for (const [name, c] of Object.entries(cases)) {
      if (only !== undefined && !only.some((o) => name.includes(o))) continue
      // Alternate which goes first, so neither always runs on a warmer (or hotter) machine.
      const order = r % 2 === 0 ? impls : [...impls].reverse()
      for (const impl of order) {
        globalThis.gc?.()
        const m = await c.run(impl.Store, fixtures.get(impl.name)!)
        const byImpl = results.get(name) ?? new Map<string, Measure[]>()
        results.set(name, byImpl)
        byImpl.set(impl.name, [...(byImpl.get(impl.name) ?? []), m])
      }
    }
    console.log(`round ${r + 1}/${rounds} done`)
  }
} finally {
  for (const f of fixtures.values()) {
    await f.store.close()
    await rm(f.dir, { recursive: true, force: true })
  }
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')
for (const [label, per] of [
  ['per wall second', (m: Measure) => m.ops / m.wall],
  ['per CPU second', (m: Measure) => m.ops / m.cpu],
] as const) {
  console.log(`\n${label}\n| case | unit | base median | new median | new/base | median of round ratios | base rounds | new rounds |`)
  console.log('|---|---|---:|---:|---:|---:|---|---|')
  for (const [name, byImpl] of results) {
    const base = byImpl.get('base')!.map(per)
    const now = byImpl.get('new')!.map(per)
    const ratio = median(now) / median(base)
    const roundRatio = median(now.map((x, i) => x / base[i]!))
    console.log(
      `| ${name} | ${cases[name]!.unit} | ${fmt(median(base))} | ${fmt(median(now))} | ${ratio.toFixed(3)} | ${roundRatio.toFixed(3)} | ${base.map(fmt).join(' ')} | ${now.map(fmt).join(' ')} |`,
    )
  }
}
