/**
 * In-process A/B of point reads whose blocks are not in cairn's block cache (working set 10x
 * the cache) but are in the OS page cache: the `Store` of another checkout against this tree's,
 * each on its own compacted store, alternating round by round (the order flips each round).
 * Per round: reads/s, read latency p50/p99, and the event loop's delay p99/max
 * (perf_hooks.monitorEventLoopDelay at 1 ms resolution; each reader yields a turn every 64
 * reads, so the loop turns and the monitor sees what a blocking read costs other work), so a
 * faster read that stalls the loop would show.
 *
 *   CAIRN_AB_BASE=<path of an older checkout> node --import tsx bench/ab-uncached-read.ts
 *
 * CAIRN_AB_ROUNDS (default 5), CAIRN_AB_SECONDS per round (default 1), CAIRN_AB_KEYS (default
 * 300,000), CAIRN_AB_WRITERS concurrent readers (default 1), CAIRN_AB_YIELD_EVERY (reads between
 * turns, default 64).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { Store as StoreNew } from '../src/partition/index.js'
import { median } from './harness.js'
import { keyFor } from './suites/state.js'

type StoreClass = typeof StoreNew
const baseDir = process.env.CAIRN_AB_BASE
if (baseDir === undefined) {
  console.error('set CAIRN_AB_BASE to the path of the checkout to compare against')
  process.exit(2)
}
const rounds = Number(process.env.CAIRN_AB_ROUNDS ?? 5)
const seconds = Number(process.env.CAIRN_AB_SECONDS ?? 1)
const keys = Number(process.env.CAIRN_AB_KEYS ?? 300_000)
const readers = Number(process.env.CAIRN_AB_WRITERS ?? 1)
const yieldEvery = Number(process.env.CAIRN_AB_YIELD_EVERY ?? 64)
const dataBytes = keys * 116
const cacheBytes = Math.max(1 << 20, Math.floor(dataBytes / 10))
const { Store: StoreBase } = (await import(pathToFileURL(resolve(baseDir, 'src/partition/index.ts')).href)) as { Store: StoreClass }
const value = new Uint8Array(100).fill(0x61)

async function fixture(Store: StoreClass): Promise<{ dir: string; store: StoreNew; get: (k: Uint8Array) => Promise<unknown> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-ab-uncached-'))
  {
    const store = await Store.open(dir, { durability: 'none' })
    const p = await store.ensurePartition('kv')
    for (let i = 0; i < keys; i += 1000) {
      const ops = []
      for (let j = i; j < Math.min(keys, i + 1000); j++) ops.push({ type: 'put' as const, key: keyFor(j), value })
      await p.write({ ops })
    }
    await p.compact()
    await store.close()
  }
  const store = await Store.open(dir, { blockCacheBytesMax: cacheBytes } as Parameters<StoreClass['open']>[1])
  const p = await store.ensurePartition('kv')
  return { dir, store, get: (k) => p.get(k) }
}

interface Round {
  readsPerSec: number
  p50Us: number
  p99Us: number
  loopP99Ms: number
  loopMaxMs: number
}

async function round(get: (k: Uint8Array) => Promise<unknown>): Promise<Round> {
  const lat = createHistogram()
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  let ops = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: readers }, async () => {
      while (performance.now() - start < seconds * 1000) {
        const t0 = process.hrtime.bigint()
        if ((await get(keyFor(Math.floor(Math.random() * keys)))) === undefined) throw new Error('a loaded key is missing')
        lat.record(Math.max(1, Number(process.hrtime.bigint() - t0)))
        if (++ops % yieldEvery === 0) await new Promise<void>((r) => setImmediate(r))
      }
    }),
  )
  const wall = (performance.now() - start) / 1000
  loop.disable()
  return { readsPerSec: ops / wall, p50Us: lat.percentile(50) / 1000, p99Us: lat.percentile(99) / 1000, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6 }
}

const impls = [
  { name: 'base', f: await fixture(StoreBase) },
  { name: 'new', f: await fixture(StoreNew) },
]
const results = new Map<string, Round[]>(impls.map((i) => [i.name, []]))
for (let r = 0; r < rounds; r++) {
  for (const impl of r % 2 === 0 ? impls : [...impls].reverse()) {
    const x = await round(impl.f.get)
    results.get(impl.name)!.push(x)
    console.log(`round ${r + 1} ${impl.name.padEnd(4)} reads/s ${Math.round(x.readsPerSec)} p50 ${x.p50Us.toFixed(1)} µs p99 ${x.p99Us.toFixed(1)} µs loop delay p99 ${x.loopP99Ms.toFixed(2)} ms max ${x.loopMaxMs.toFixed(2)} ms`)
  }
}
for (const i of impls) {
  await i.f.store.close()
  await rm(i.f.dir, { recursive: true, force: true })
}
console.log(`\nmedians of ${rounds} interleaved rounds; ${keys} keys (${(dataBytes / 1e6).toFixed(1)} MB), block cache ${(cacheBytes / 1e6).toFixed(1)} MB, ${readers} reader(s)`)
console.log('| figure | base | new | new/base |\n|---|---:|---:|---:|')
for (const k of ['readsPerSec', 'p50Us', 'p99Us', 'loopP99Ms', 'loopMaxMs'] as const) {
  const b = median(results.get('base')!.map((x) => x[k]))
  const n = median(results.get('new')!.map((x) => x[k]))
  console.log(`| ${k} | ${b.toFixed(2)} | ${n.toFixed(2)} | ${(n / b).toFixed(2)}x |`)
}
