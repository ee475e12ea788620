/**
 * In-process A/B of the state tree: imports `LsmTree` from a base tree (`CAIRN_AB_BASE`, the
 * path of another checkout's src/state/index.ts) and from this one, and runs them alternately
 * (the order flips each round) on the real file system under the OS temp dir, so both see the
 * same machine load. Prints each round and the medians.
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

function keyOf(i: number): Buffer {
  const k = Buffer.alloc(16)
  k.writeUInt32BE((i * 2654435761) >>> 0, 0)
  k.writeUInt32BE(i, 4)
  return k
}

/** Puts per second, and the tree (left open for the reads). */
async function puts(mod: TreeModule, dir: string): Promise<{ rate: number; tree: Tree }> {
  const tree = await mod.LsmTree.open({ fs, dir, memtableBytesMax: 4 * 1024 * 1024, blockCacheBytesMax: 256 * 1024 * 1024, autoCompact: false })
  let lsn = 0
  const t0 = performance.now()
  for (let b = 0; b < putBatches; b++) {
    const ops: current.StateOp[] = []
    for (let j = 0; j < batchOps; j++) ops.push({ type: 'put', key: keyOf(Math.floor(Math.random() * 1e9)), value })
    tree.apply(++lsn, ops, true, true)
    if (tree.needsFlush()) await tree.flush()
  }
  const ms = performance.now() - t0
  return { rate: (putBatches * batchOps) / (ms / 1000), tree }
}

/** Cached point reads per second over keys 0..n of a flushed, compacted tree. */
async function reads(tree: Tree, n: number): Promise<number> {
  for (let i = 0; i < n; i++) await tree.get(keyOf(i))
  const t0 = performance.now()
  for (let i = 0; i < readCount; i++) await tree.get(keyOf((i * 7919) % n))
  return readCount / ((performance.now() - t0) / 1000)
}

async function scanRate(tree: Tree): Promise<number> {
  const t0 = performance.now()
  let c = 0
  for await (const _ of tree.scan()) c++
  if (c !== scanEntries) throw new Error(`scanned ${c} entries, expected ${scanEntries}`)
  return c / ((performance.now() - t0) / 1000)
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
const results: Record<(typeof names)[number], { puts: number[]; reads: number[]; scan: number[] }> = {
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
      console.log(`round ${r} ${name.padEnd(7)} puts/s ${Math.round(p.rate)}  reads/s ${Math.round(rd)}  scan entries/s ${Math.round(sc)}`)
    }
  }
  for (const name of names) {
    await readTrees[name]!.close()
    await scanTrees[name]!.close()
  }
} finally {
  await rm(root, { recursive: true, force: true })
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
console.log('medians (higher is better)')
for (const w of ['puts', 'reads', 'scan'] as const) {
  const b = median(results.base[w])
  const c = median(results.current[w])
  console.log(`${w.padEnd(6)} base ${Math.round(b)}  current ${Math.round(c)}  (${(((c - b) / b) * 100).toFixed(1)}%)`)
}
