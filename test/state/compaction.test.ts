/**
 * Compaction behaviour: leveled shape, closing mid-compaction. (How long compaction may block the
 * event loop is a measurement, not a test: bench/state-stall-probe.ts.)
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCairnError, MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'
import { collect } from '../helpers/state-helpers.js'

const key = (i: number): Uint8Array => {
  const k = Buffer.alloc(12)
  k.writeUInt32BE((i * 2654435761) >>> 0, 0)
  k.writeDoubleBE(i, 4)
  return k
}

async function load(tree: LsmTree, count: number, valueBytes: number, start = 0): Promise<void> {
  const value = Buffer.alloc(valueBytes, 1)
  let lsn = tree.appliedLsn
  for (let i = start; i < start + count; i += 500) {
    const ops = []
    for (let j = i; j < Math.min(start + count, i + 500); j++) ops.push({ type: 'put' as const, key: key(j), value })
    tree.apply(++lsn, ops)
    if (tree.needsFlush()) await tree.flush()
  }
}

test('state compaction: levels stay within their targets and reads stay correct', async () => {
  const tree = await LsmTree.open({
    fs: new MemoryFileSystem(),
    dir: '/s',
    memtableBytesMax: 64 * 1024,
    tableBytesTarget: 64 * 1024,
    level1BytesMax: 256 * 1024,
    levelBytesMultiplier: 4,
  })
  for (let round = 0; round < 4; round++) await load(tree, 10_000, 100)
  await tree.flush()
  await tree.compact()
  const s = tree.stats()
  for (const l of s.levels.slice(1, -1)) assert.ok(l.bytes <= l.bytesMax, `level ${l.level}: ${l.bytes} > ${l.bytesMax}`)
  assert.ok(s.levels[0]!.tableCount < 4)
  assert.ok(s.levels.filter((l) => l.tableCount > 0).length >= 2, 'several levels in use')
  // 4x overwrite: space amplification stays bounded.
  const live = 10_000 * (12 + 100)
  console.log(`4x overwrite: table bytes / live bytes = ${(s.tableBytes / live).toFixed(2)}, write amplification ${s.writeAmplification.toFixed(2)}`)
  assert.ok(s.tableBytes < live * 2.5)
  assert.equal((await collect(tree.scan())).length, 10_000)
  await tree.close()
})

test('state compaction: closing the tree stops a running compaction; nothing is lost', async () => {
  const fs = new MemoryFileSystem()
  let tree = await LsmTree.open({ fs, dir: '/s', memtableBytesMax: 2 * 1024 * 1024, autoCompact: false })
  await load(tree, 60_000, 200)
  await tree.flush()
  const durable = tree.durableLsn
  const compacting = tree.compact({ full: true }).then(
    () => 'done',
    (e: unknown) => (isCairnError(e, 'CLOSED') ? 'closed' : Promise.reject(e)),
  )
  await new Promise((resolve) => setTimeout(resolve, 5))
  await tree.close()
  console.log(`compaction outcome when closed mid-way: ${await compacting}`)
  tree = await LsmTree.open({ fs, dir: '/s' })
  assert.equal(tree.durableLsn, durable)
  assert.equal((await collect(tree.scan())).length, 60_000)
  const files = (await fs.list('/s')).filter((n) => n.endsWith('.sst'))
  assert.equal(files.length, tree.stats().tableCount, 'no orphan left after reopen')
  await tree.close()
})
