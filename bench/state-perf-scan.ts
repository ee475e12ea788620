// Scan probe (not a test; run: node --import tsx bench/state-perf-scan.ts): N entries flushed to tables (cache big enough to hold them), warm full scans.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeFileSystem } from '../src/io/index.js'
import { LsmTree } from '../src/state/index.js'

const dir = await mkdtemp(join(tmpdir(), 'cairn-perf-scan-'))
const tree = await LsmTree.open({ fs: new NodeFileSystem(), dir, autoCompact: false, blockCacheBytesMax: 256 * 1048576 })
const n = Number(process.env.N ?? 500_000)
const value = Buffer.alloc(100, 7)
let lsn = 0
for (let i = 0; i < n; i += 1000) {
  const ops = []
  for (let j = i; j < i + 1000; j++) {
    const k = Buffer.alloc(16)
    k.writeUInt32BE((j * 2654435761) >>> 0, 0)
    k.writeUInt32BE(j, 4)
    ops.push({ type: 'put' as const, key: k, value })
  }
  tree.apply(++lsn, ops)
  if (i + 1000 === Math.floor(n / 2)) await tree.flush()
}
await tree.flush()
// L0_TABLES=1 (default): one sorted run; otherwise leave the two L0 tables (as the bench does).
if (process.env.L0_TABLES !== '2') await tree.compact({ full: true })
const getMs = Number(process.env.GET_MS ?? 0)
for (let r = 0; r < Number(process.env.ROUNDS ?? 5); r++) {
  // Optionally random point reads first (as the bench does before its scan).
  for (let t0 = performance.now(); performance.now() - t0 < getMs; ) {
    for (let i = 0; i < 1000; i++) {
      const j = Math.floor(Math.random() * n)
      const k = Buffer.alloc(16)
      k.writeUInt32BE((j * 2654435761) >>> 0, 0)
      k.writeUInt32BE(j, 4)
      await tree.get(k)
    }
  }
  const t = performance.now()
  let c = 0
  for await (const _ of tree.scan()) c++
  console.log('scan entries/s', Math.round(c / ((performance.now() - t) / 1000)), c)
}
await tree.close()
await rm(dir, { recursive: true, force: true })
