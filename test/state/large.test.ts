/**
 * Larger than memory: with a 4 MiB memtable and an 8 MiB block cache, load STATE_LARGE_MB
 * (default 300) MB of entries on the real disk, read a random sample back, scan a range, and
 * report resident memory. Keys arrive in increasing order with 1 in 16 writes overwriting a
 * random earlier key, so compactions both move and merge tables.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { NodeFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'
import { testSeed, withSeed } from '../helpers/seed.js'

const megabytes = Number(process.env.STATE_LARGE_MB ?? 300)
const valueBytes = 1000

const key = (i: number): Uint8Array => {
  const k = Buffer.alloc(16)
  k.writeUInt32BE(0x6b657973, 0)
  k.writeDoubleBE(i, 4)
  k.writeUInt32BE(i % 65521, 12)
  return k
}
function valueFor(i: number, version: number): Uint8Array {
  const v = Buffer.alloc(valueBytes, (i * 31 + version) & 0xff)
  v.writeDoubleBE(i, 0)
  v.writeUInt32BE(version, 8)
  return v
}

test(`state large: ${megabytes} MB with a 4 MiB memtable and an 8 MiB block cache`, { timeout: 300_000 }, () => withSeed(testSeed(), async (runSeed) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-state-large-'))
  try {
    const started = performance.now()
    const tree = await LsmTree.open({
      fs: new NodeFileSystem(),
      dir,
      memtableBytesMax: 4 * 1024 * 1024,
      blockCacheBytesMax: 8 * 1024 * 1024,
      tableBytesTarget: 16 * 1024 * 1024,
      level1BytesMax: 64 * 1024 * 1024,
    })
    const count = Math.ceil((megabytes * 1024 * 1024) / (valueBytes + 16))
    const versions = new Map<number, number>()
    let rssMax = 0
    let lsn = 0
    let seed = runSeed
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed % n
    }
    for (let i = 0; i < count; i += 100) {
      const ops = []
      for (let j = i; j < Math.min(count, i + 100); j++) {
        if (j % 16 === 15) {
          const old = random(j)
          const version = (versions.get(old) ?? 0) + 1
          versions.set(old, version)
          ops.push({ type: 'put' as const, key: key(old), value: valueFor(old, version) })
        }
        ops.push({ type: 'put' as const, key: key(j), value: valueFor(j, versions.get(j) ?? 0) })
      }
      tree.apply(++lsn, ops)
      if (tree.needsFlush()) {
        await tree.flush()
        rssMax = Math.max(rssMax, process.memoryUsage().rss)
      }
    }
    await tree.flush()
    await tree.compact()
    const loadedMs = performance.now() - started
    // Verify a random sample.
    const readStarted = performance.now()
    const sample = 2000
    for (let s = 0; s < sample; s++) {
      const i = random(count)
      const v = await tree.get(key(i))
      assert.ok(v !== undefined, `key ${i} present`)
      assert.deepEqual(Buffer.from(v), Buffer.from(valueFor(i, versions.get(i) ?? 0)), `value of key ${i}`)
    }
    const readMs = performance.now() - readStarted
    let scanned = 0
    const from = Math.floor(count / 3)
    for await (const [k, v] of tree.scan({ gte: key(from), limit: 20_000 })) {
      const i = Buffer.from(k).readDoubleBE(4)
      assert.equal(i, from + scanned)
      assert.equal(Buffer.from(v).readDoubleBE(0), i)
      scanned++
    }
    assert.equal(scanned, Math.min(20_000, count - from))
    rssMax = Math.max(rssMax, process.memoryUsage().rss)
    const stats = tree.stats()
    const report = {
      megabytes,
      entries: count,
      loadSeconds: +(loadedMs / 1000).toFixed(1),
      loadMBperSecond: +(megabytes / (loadedMs / 1000)).toFixed(1),
      randomGetsPerSecond: Math.round(sample / (readMs / 1000)),
      tableBytes: stats.tableBytes,
      tableCount: stats.tableCount,
      levels: stats.levels.filter((l) => l.tableCount > 0).map((l) => `L${l.level}:${l.tableCount}/${(l.bytes / 1048576).toFixed(0)}MB`),
      writeAmplification: +stats.writeAmplification.toFixed(2),
      blockCacheBytes: stats.blockCacheBytes,
      tableMemoryMB: +(stats.tableMemoryBytes / 1048576).toFixed(1),
      rssMaxMB: Math.round(rssMax / 1048576),
      heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1048576),
    }
    console.log(`state large: ${JSON.stringify(report)}`)
    assert.ok(stats.blockCacheBytes <= 8 * 1024 * 1024)
    assert.ok(stats.tableBytes > megabytes * 1024 * 1024 * 0.9, 'the data is on disk')
    await tree.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}))
