/**
 * In-process A/B of the state tree: imports `LsmTree` from a base tree (`CAIRN_AB_BASE`, the
 * path of another checkout's src/state/index.ts) and from this one, and runs them alternately
 * (the order flips each round) on the real file system under the OS temp dir, so both see the
 * same machine load. Prints each round and the medians.
 *
 * Each figure is given twice: per second of wall time, and per second of this process's CPU
 * time (user + system), which a loaded machine disturbs far less than the wall clock.
 *
 * Workloads: batched random puts (1,000 per record, into the memtable with flushes at 4 MiB),
 * cached point reads of those keys (the cache holds them all), a full scan of 1M entries
 * (compacted to one sorted run, blocks cached by a first scan).
 *
 *   CAIRN_AB_BASE=/path/to/base/src/state/index.ts node --import tsx bench/ab-state.ts
 *   (CAIRN_AB_ROUNDS rounds, default 5; CAIRN_AB_SCAN_ENTRIES, default 1,000,000)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeFileSystem } from '../src/io/index.js'
import * as current from '../src/state/index.js'
import { median } from './harness.js'

type Tree = current.LsmTree
interface TreeModule {
  LsmTree: { open(options: current.StateOptions): Promise<Tree> }
}

const basePath = process.env.CAIRN_AB_BASE
if (basePath === undefined) throw new Error('set CAIRN_AB_BASE to the src/state/index.ts of the tree to compare against')
const base = (await import(basePath)) as TreeModule
const rounds = Number(process.env.CAIRN_AB_ROUNDS ?? 5)
const scanEntries = Number(process.env.CAIRN_AB_SCAN_ENTRIES ?? 1_000_000)
const putBatches = 300
const batchOps = 1000
const readCount = 200_000
const fs = new NodeFileSystem()
const value = Buffer.alloc(100, 7)

/** Runs `fn`, returning its result with the wall and CPU (user + system) milliseconds it took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await fn()
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { result, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 }
}

interface Rate {
  wall: number
  cpu: number
}

const rateOf = (count: number, t: { wallMs: number; cpuMs: number }): Rate => ({ wall: count / (t.wallMs / 1000), cpu: count / (t.cpuMs / 1000) })

function keyOf(i: number): Buffer {
  const k = Buffer.alloc(16)
  k.writeUInt32BE((i * 2654435761) >>> 0, 0)
  k.writeUInt32BE(i, 4)
  return k
}

/** Puts per second, and the tree (left open for the reads). */
async function puts(mod: TreeModule, dir: string): Promise<{ rate: Rate; tree: Tree }> {
  const tree = await mod.LsmTree.open({ fs, dir, memtableBytesMax: 4 * 1024 * 1024, blockCacheBytesMax: 256 * 1024 * 1024, autoCompact: false })
  let lsn = 0
  const t = await timed(async () => {
    for (let b = 0; b < putBatches; b++) {
      const ops: current.StateOp[] = []
      for (let j = 0; j < batchOps; j++) ops.push({ type: 'put', key: keyOf(Math.floor(Math.random() * 1e9)), value })
      tree.apply(++lsn, ops, true, true)
      if (tree.needsFlush()) await tree.flush()
    }
  })
  return { rate: rateOf(putBatches * batchOps, t), tree }
}

/** Cached point reads per second over keys 0..n of a flushed, compacted tree. */
async function reads(tree: Tree, n: number): Promise<Rate> {
  for (let i = 0; i < n; i++) await tree.get(keyOf(i))
  const t = await timed(async () => {
    for (let i = 0; i < readCount; i++) await tree.get(keyOf((i * 7919) % n))
  })
  return rateOf(readCount, t)
}

async function scanRate(tree: Tree): Promise<Rate> {
  const t = await timed(async () => {
    let c = 0
    for await (const _ of tree.scan()) c++
    return c
  })
  if (t.result !== scanEntries) throw new Error(`scanned ${t.result} entries, expected ${scanEntries}`)
  return rateOf(t.result, t)
}

async function build(mod: TreeModule, dir: string, n: number): Promise<Tree> {
  const tree = await mod.LsmTree.open({ fs, dir, blockCacheBytesMax: 512 * 1024 * 1024, autoCompact: false })
  let lsn = 0
  for (let i = 0; i < n; i += batchOps) {
    const ops: current.StateOp[] = []
    for (let j = i; j < Math.min(n, i + batchOps); j++) ops.push({ type: 'put', key: keyOf(j), value })
    tree.apply(++lsn, ops)
    if (tree.needsFlush()) await tree.flush()
  }
  await tree.flush()
  await tree.compact({ full: true })
  return tree
}

const root = await mkdtemp(join(tmpdir(), 'cairn-ab-state-'))
const sides = { base, current: current as TreeModule }
const names = ['base', 'current'] as const
const results: Record<(typeof names)[number], { puts: Rate[]; reads: Rate[]; scan: Rate[] }> = {
  base: { puts: [], reads: [], scan: [] },
  current: { puts: [], reads: [], scan: [] },
}
try {
  const readTrees: Record<string, Tree> = {}
  const scanTrees: Record<string, Tree> = {}
  for (const name of names) {
    readTrees[name] = await build(sides[name], join(root, `${name}-reads`), 100_000)
    scanTrees[name] = await build(sides[name], join(root, `${name}-scan`), scanEntries)
    await scanRate(scanTrees[name]!)
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : ([...names].reverse() as unknown as typeof names)
    for (const name of order) {
      const dir = join(root, `${name}-puts-${r}`)
      const p = await puts(sides[name], dir)
      await p.tree.close()
      await rm(dir, { recursive: true, force: true })
      const rd = await reads(readTrees[name]!, 100_000)
      const sc = await scanRate(scanTrees[name]!)
      results[name].puts.push(p.rate)
      results[name].reads.push(rd)
      results[name].scan.push(sc)
      const f = (x: Rate): string => `${Math.round(x.wall)} (cpu ${Math.round(x.cpu)})`
      console.log(`round ${r} ${name.padEnd(7)} puts/s ${f(p.rate)}  reads/s ${f(rd)}  scan entries/s ${f(sc)}`)
    }
  }
  for (const name of names) {
    await readTrees[name]!.close()
    await scanTrees[name]!.close()
  }
} finally {
  await rm(root, { recursive: true, force: true })
}
console.log('medians, per wall second and per CPU second (higher is better)')
for (const w of ['puts', 'reads', 'scan'] as const) {
  for (const k of ['wall', 'cpu'] as const) {
    const b = median(results.base[w].map((x) => x[k]))
    const c = median(results.current[w].map((x) => x[k]))
    console.log(`${w.padEnd(6)} ${k.padEnd(4)} base ${Math.round(b)}  current ${Math.round(c)}  (${(((c - b) / b) * 100).toFixed(1)}%)`)
  }
}
