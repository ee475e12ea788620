/**
 * Probe (not a timed test): point-read latency with many range tombstones, before and after
 * compaction reclaims them (audit issue 6, finding 11).
 *
 * Loads `CAIRN_PROBE_KEYS` keys (default 100,000; 16-byte keys, 100-byte values) into the
 * bottom level, then writes `CAIRN_PROBE_TOMBSTONES` single-key deleteRanges (default 20,000,
 * one per record) with a flush every 2,000 and automatic compaction off, so every tombstone
 * stays unreclaimed. It measures `get` on the real disk (warm block cache) three times: with
 * the tombstones unreclaimed, after `compact()` (what is due) and after `compact({ full: true })`,
 * and prints the live tombstone count and the manifest size at each step.
 *
 *   node --import tsx bench/tombstone-probe.ts
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeFileSystem } from '../src/io/index.js'
import { LsmTree } from '../src/state/index.js'

const keyCount = Number(process.env.CAIRN_PROBE_KEYS ?? 100_000)
const tombstoneCount = Number(process.env.CAIRN_PROBE_TOMBSTONES ?? 20_000)
const getCount = Number(process.env.CAIRN_PROBE_GETS ?? 100_000)
const flushEveryRecords = 2_000

function keyOf(i: number): Buffer {
  const k = Buffer.alloc(16)
  k.writeUInt32BE((i * 2654435761) >>> 0, 0)
  k.writeUInt32BE(i, 4)
  return k
}

/** The key just after `k` in byte order: [k, next(k)) holds k alone. */
const next = (k: Buffer): Buffer => Buffer.concat([k, Buffer.from([0])])

async function measureGets(tree: LsmTree, label: string, dir: string): Promise<void> {
  // Warm the block cache first, so the figure is the read path, not the disk.
  for (let i = 0; i < keyCount; i += 7) await tree.get(keyOf(i))
  const started = performance.now()
  let found = 0
  for (let i = 0; i < getCount; i++) if ((await tree.get(keyOf((i * 7919) % keyCount))) !== undefined) found++
  const us = ((performance.now() - started) * 1000) / getCount
  const manifestBytes = (await stat(join(dir, 'MANIFEST'))).size
  const s = tree.stats()
  console.log(
    `${label.padEnd(28)} tombstones ${String(s.rangeTombstoneCount).padStart(6)} | manifest ${String(manifestBytes).padStart(8)} B | tables ${String(s.tableCount).padStart(3)} | get ${us.toFixed(2)} us (${found} of ${getCount} found)`,
  )
}

const dir = await mkdtemp(join(tmpdir(), 'cairn-tombstone-probe-'))
try {
  const tree = await LsmTree.open({ fs: new NodeFileSystem(), dir, autoCompact: false, memtableBytesMax: 256 * 1024 * 1024 })
  const value = Buffer.alloc(100, 7)
  let lsn = 0
  for (let i = 0; i < keyCount; i += 1000) {
    const ops = []
    for (let j = i; j < Math.min(keyCount, i + 1000); j++) ops.push({ type: 'put' as const, key: keyOf(j), value })
    tree.apply(++lsn, ops)
  }
  await tree.flush()
  await tree.compact({ full: true })
  const stride = Math.max(1, Math.floor(keyCount / tombstoneCount))
  for (let n = 0; n < tombstoneCount; n++) {
    const k = keyOf((n * stride) % keyCount)
    tree.apply(++lsn, [{ type: 'deleteRange', start: k, end: next(k) }])
    if ((n + 1) % flushEveryRecords === 0) await tree.flush()
  }
  await tree.flush()
  await measureGets(tree, `${tombstoneCount} unreclaimed`, dir)
  let started = performance.now()
  await tree.compact()
  console.log(`compact() took ${(performance.now() - started).toFixed(0)} ms`)
  await measureGets(tree, 'after compact()', dir)
  started = performance.now()
  await tree.compact({ full: true })
  console.log(`compact({ full: true }) took ${(performance.now() - started).toFixed(0)} ms`)
  await measureGets(tree, 'after full compaction', dir)
  await tree.close()
} finally {
  await rm(dir, { recursive: true, force: true })
}
