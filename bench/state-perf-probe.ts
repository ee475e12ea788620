// Point-read probe (not a test): N keys flushed to tables, warm cached gets. Run: node --import tsx bench/state-perf-probe.ts (N, CACHE_MB)
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeFileSystem } from '../src/io/index.js'
import { LsmTree } from '../src/state/index.js'

const dir = await mkdtemp(join(tmpdir(), 'cairn-perf-'))
const tree = await LsmTree.open({ fs: new NodeFileSystem(), dir, autoCompact: false, blockCacheBytesMax: Number(process.env.CACHE_MB ?? 64) * 1048576 })
const n = Number(process.env.N ?? 1_000_000)
const keys: Buffer[] = []
for (let i = 0; i < n; i++) { const k = Buffer.alloc(16); k.writeUInt32BE((i * 2654435761) >>> 0, 0); k.writeUInt32BE(i, 4); keys.push(k) }
const value = Buffer.alloc(100, 7)
let t = performance.now()
let lsn = 0
for (let i = 0; i < n; i += 1000) {
  const ops = []
  for (let j = i; j < i + 1000; j++) ops.push({ type: 'put' as const, key: keys[j]!, value })
  tree.apply(++lsn, ops)
}
console.log('apply puts/s', Math.round(n / ((performance.now() - t) / 1000)), 'memtable MB', (tree.stats().memtableBytes / 1048576).toFixed(1))
t = performance.now()
await tree.flush()
console.log('flush s', ((performance.now() - t) / 1000).toFixed(2), 'MB/s', (tree.stats().tableBytes / 1048576 / ((performance.now() - t) / 1000)).toFixed(1))
// warm cache
let c = 0
t = performance.now()
for await (const _ of tree.scan()) c++
console.log('scan (cold) entries/s', Math.round(c / ((performance.now() - t) / 1000)))
t = performance.now(); c = 0
for await (const _ of tree.scan()) c++
console.log('scan (warm) entries/s', Math.round(c / ((performance.now() - t) / 1000)), c)
t = performance.now()
for (let i = 0; i < 200_000; i++) await tree.get(keys[(i * 7919) % n]!)
console.log('get (cached) /s', Math.round(200_000 / ((performance.now() - t) / 1000)), tree.stats().blockCacheHits, tree.stats().blockCacheMisses)
// memtable get
for (let i = 0; i < 1000; i++) tree.apply(++lsn, [{ type: 'put', key: keys[i]!, value }])
t = performance.now()
for (let i = 0; i < 200_000; i++) await tree.get(keys[i % 1000]!)
console.log('get (memtable) /s', Math.round(200_000 / ((performance.now() - t) / 1000)))
t = performance.now()
await tree.compact({ full: true })
console.log('full compaction s', ((performance.now() - t) / 1000).toFixed(2))
await tree.close()
await rm(dir, { recursive: true, force: true })
