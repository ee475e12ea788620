// Event-loop stall probe (not a test): the longest gap of a 1 ms timer while a 40 MB flush and a
// full compaction run on the real disk. Compaction works in slices of `compactionSliceMs` (4 ms),
// so on a quiet machine the longest gap is ~12-15 ms (GC pauses included).
// Run: node --import tsx bench/state-stall-probe.ts
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeFileSystem } from '../src/io/index.js'
import { LsmTree } from '../src/state/index.js'

const key = (i: number): Uint8Array => {
  const k = Buffer.alloc(12)
  k.writeUInt32BE((i * 2654435761) >>> 0, 0)
  k.writeDoubleBE(i, 4)
  return k
}

const dir = await mkdtemp(join(tmpdir(), 'cairn-state-stall-'))
try {
  const tree = await LsmTree.open({ fs: new NodeFileSystem(), dir, memtableBytesMax: 16 * 1024 * 1024, autoCompact: false })
  const value = Buffer.alloc(400, 1)
  let lsn = 0
  for (let i = 0; i < 100_000; i += 500) {
    const ops = []
    for (let j = i; j < i + 500; j++) ops.push({ type: 'put' as const, key: key(j), value })
    tree.apply(++lsn, ops)
    if (tree.needsFlush()) await tree.flush()
  }
  let last = performance.now()
  let maxGapMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxGapMs = Math.max(maxGapMs, now - last)
    last = now
  }, 1)
  last = performance.now()
  try {
    await tree.flush()
    await tree.compact({ full: true })
  } finally {
    clearInterval(timer)
  }
  console.log(JSON.stringify({ probe: 'state-stall', longestEventLoopGapMs: Number(maxGapMs.toFixed(1)), tables: tree.stats().tableCount }))
  await tree.close()
} finally {
  await rm(dir, { recursive: true, force: true })
}
