import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { BlockCache, LsmTree } from '../../src/state/index.js'

const b = (s: string): Uint8Array => Buffer.from(s)
const s = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : Buffer.from(u).toString())
const key = (i: number): Uint8Array => b(`k${String(i).padStart(5, '0')}`)

async function filledTree(fs: MemoryFileSystem, dir: string, cache: BlockCache, tag: string, count: number): Promise<LsmTree> {
  const tree = await LsmTree.open({ fs, dir, blockCache: cache, blockBytes: 256, autoCompact: false })
  for (let i = 0; i < count; i++) tree.apply(i + 1, [{ type: 'put', key: key(i), value: b(`${tag}-${i}`) }])
  await tree.flush()
  return tree
}

test('shared block cache: tables with the same id in two trees never see each other\'s blocks', async () => {
  const fs = new MemoryFileSystem()
  const cache = new BlockCache(1024 * 1024)
  const a = await filledTree(fs, '/a', cache, 'A', 300)
  const c = await filledTree(fs, '/b', cache, 'B', 300)
  // Both trees wrote their first table as table 1: the same file name and id in each directory.
  assert.deepEqual(await fs.list('/a').then((n) => n.filter((x) => x.endsWith('.sst')).sort()), await fs.list('/b').then((n) => n.filter((x) => x.endsWith('.sst')).sort()))
  for (let i = 0; i < 300; i += 7) assert.equal(s(await a.get(key(i))), `A-${i}`)
  assert.ok(cache.hits + cache.misses > 0, 'reads went through the shared cache')
  for (let i = 0; i < 300; i += 7) assert.equal(s(await c.get(key(i))), `B-${i}`)
  for (let i = 0; i < 300; i += 7) assert.equal(s(await a.get(key(i))), `A-${i}`)
  await a.close()
  await c.close()
})

test('shared block cache: bytes stay within its capacity across trees, and a closed tree\'s blocks leave it', async () => {
  const fs = new MemoryFileSystem()
  const capacity = 16 * 1024
  const cache = new BlockCache(capacity)
  const trees: LsmTree[] = []
  for (let t = 0; t < 4; t++) trees.push(await filledTree(fs, `/t${t}`, cache, `T${t}`, 2000))
  for (let round = 0; round < 2; round++) {
    for (const [t, tree] of trees.entries()) {
      for (let i = 0; i < 2000; i += 13) {
        assert.equal(s(await tree.get(key(i))), `T${t}-${i}`)
        assert.ok(cache.bytes <= capacity, `cache holds ${cache.bytes} bytes, capacity ${capacity}`)
      }
    }
  }
  assert.ok(cache.bytes > 0)
  for (const tree of trees) await tree.close()
  assert.equal(cache.bytes, 0, 'closing every tree released all their blocks')
})

test('memtableBytes counts the mutable and the frozen memtables', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir: '/m', autoCompact: false })
  assert.equal(tree.memtableBytes, 0)
  tree.apply(1, [{ type: 'put', key: b('a'), value: b('1234') }])
  const one = tree.memtableBytes
  assert.ok(one > 0)
  tree.freeze()
  assert.equal(tree.memtableBytes, one, 'a frozen memtable still counts')
  tree.apply(2, [{ type: 'put', key: b('b'), value: b('5678') }])
  assert.equal(tree.memtableBytes, tree.stats().memtableBytes + tree.stats().frozenMemtableBytes)
  assert.ok(tree.memtableBytes > one)
  await tree.flushFrozen()
  assert.equal(tree.memtableBytes, tree.stats().memtableBytes, 'the flushed memtable no longer counts')
  await tree.flush()
  assert.equal(tree.memtableBytes, 0)
  await tree.close()
})
