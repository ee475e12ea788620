/**
 * Range tombstones are reclaimed (audit issue 6, finding 11): compaction drops them, and the
 * data they cover, once nothing older below can be hidden by them; the live set stays bounded;
 * a trivial move never carries a table past a newer tombstone without applying it; read
 * snapshots and retained versions still see what they saw.
 */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import { test } from 'node:test'
import { atomicWriteFile, MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree, type StateOp } from '../../src/state/index.js'
import { BlockCache } from '../../src/state/table/block-cache.js'
import { decodeManifest, manifestFileName } from '../../src/state/manifest.js'
import { tableFileName } from '../../src/state/table/table-format.js'
import { Table } from '../../src/state/table/table-reader.js'
import { collect, hex } from '../helpers/state-helpers.js'

const dir = '/s'
const seqKey = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(6, '0')}`)
const hashKey = (i: number): Uint8Array => {
  const k = Buffer.alloc(8)
  k.writeUInt32BE((i * 2654435761) >>> 0, 0)
  k.writeUInt32BE(i, 4)
  return k
}
/** The key right after `k` in byte order: [k, after(k)) holds k alone. */
const after = (k: Uint8Array): Uint8Array => Buffer.concat([k, Buffer.from([0])])

async function load(tree: LsmTree, keys: Uint8Array[], valueBytes: number): Promise<void> {
  const value = Buffer.alloc(valueBytes, 1)
  for (let i = 0; i < keys.length; i += 200) {
    const ops: StateOp[] = keys.slice(i, i + 200).map((key) => ({ type: 'put', key, value }))
    tree.apply(tree.appliedLsn + 1, ops)
  }
  await tree.flush()
}

/** Every key stored in the table files the manifest lists (read from the files themselves). */
async function keysInTables(fs: MemoryFileSystem): Promise<string[]> {
  const path = posix.join(dir, manifestFileName)
  const manifest = decodeManifest(await fs.readFile(path), path)
  const keys: string[] = []
  const cache = new BlockCache(1024 * 1024)
  for (const { level: _level, ...info } of manifest.tables) {
    const table = await Table.open(fs, posix.join(dir, tableFileName(info.id)), info, cache)
    try {
      for (let b = 0; b < table.blockCount; b++) {
        const block = await table.loadBlock(b, false)
        for (let i = 0; i < block.count; i++) keys.push(hex(block.keyAt(i)))
      }
    } finally {
      await table.close()
    }
  }
  return keys
}

test('tombstone reclaim: after 20,000 single-key deleteRanges the live tombstones and the manifest stay small', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir, memtableBytesMax: 256 * 1024, tableBytesTarget: 64 * 1024, blockBytes: 1024 })
  const n = 20_000
  const keys = Array.from({ length: n }, (_, i) => hashKey(i))
  await load(tree, keys, 16)
  await tree.compact({ full: true })
  for (let i = 0; i < n; i++) {
    // Every key but one in five, one deleteRange per record, as a caller deleting one by one would.
    if (i % 5 === 0) continue
    tree.apply(tree.appliedLsn + 1, [{ type: 'deleteRange', start: keys[i]!, end: after(keys[i]!) }])
    if (i % 1000 === 999) await tree.flush()
  }
  await tree.flush()
  await tree.compact()
  await tree.idle()
  const s = tree.stats()
  const manifestBytes = (await fs.stat(posix.join(dir, manifestFileName)))!.size
  console.log(`16,000 deleteRanges: ${s.rangeTombstoneCount} live tombstones, manifest ${manifestBytes} bytes, ${s.compactionCount} compactions`)
  assert.ok(s.rangeTombstoneCount <= 1024, `${s.rangeTombstoneCount} live tombstones`)
  assert.ok(manifestBytes <= 96 * 1024, `manifest is ${manifestBytes} bytes`)
  for (let i = 0; i < n; i += 97) assert.equal((await tree.get(keys[i]!)) !== undefined, i % 5 === 0, `key ${i}`)
  assert.equal((await collect(tree.scan())).length, n / 5)
  await tree.close()
})

test('tombstone reclaim: data a deleteRange covers is physically gone from the table files after compaction', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir, memtableBytesMax: 64 * 1024, tableBytesTarget: 16 * 1024, blockBytes: 512 })
  await load(tree, Array.from({ length: 2000 }, (_, i) => seqKey(i)), 100)
  await tree.compact({ full: true })
  assert.equal((await keysInTables(fs)).length, 2000)
  tree.apply(tree.appliedLsn + 1, [{ type: 'deleteRange', start: seqKey(500), end: seqKey(1500) }])
  tree.apply(tree.appliedLsn + 1, [{ type: 'put', key: seqKey(2000), value: Buffer.from('x') }])
  await tree.flush()
  await tree.compact()
  await tree.idle()
  const stored = await keysInTables(fs)
  const covered = stored.filter((k) => k >= hex(seqKey(500)) && k < hex(seqKey(1500)))
  assert.equal(covered.length, 0, `${covered.length} covered entries still in table files`)
  assert.equal(stored.length, 1001)
  assert.equal(tree.stats().rangeTombstoneCount, 0, 'the tombstone itself is gone')
  assert.equal((await collect(tree.scan())).length, 1001)
  await tree.close()
  // The reclaimed state survives a reopen.
  const reopened = await LsmTree.open({ fs, dir })
  assert.equal((await collect(reopened.scan())).length, 1001)
  assert.equal(await reopened.get(seqKey(700)), undefined)
  await reopened.close()
})

test('tombstone reclaim: a table overlapped by a newer tombstone is rewritten, not trivially moved', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir, autoCompact: false, level0TableCountTrigger: 1 })
  await load(tree, Array.from({ length: 10 }, (_, i) => seqKey(i)), 10)
  assert.equal((await keysInTables(fs)).length, 10)
  tree.apply(tree.appliedLsn + 1, [{ type: 'deleteRange', start: seqKey(3), end: seqKey(5) }])
  await tree.flush()
  const before = tree.stats().bytesWrittenCompaction
  // The only L0 table, nothing in L1: without the tombstone this would be a trivial move.
  await tree.compact()
  const s = tree.stats()
  assert.equal(s.levels[0]!.tableCount, 0)
  assert.equal(s.levels[1]!.tableCount, 1)
  assert.ok(s.bytesWrittenCompaction > before, 'the table was rewritten')
  assert.deepEqual(
    (await keysInTables(fs)).sort(),
    [0, 1, 2, 5, 6, 7, 8, 9].map((i) => hex(seqKey(i))),
  )
  assert.equal(s.rangeTombstoneCount, 0)
  assert.equal(await tree.get(seqKey(3)), undefined)
  assert.equal((await collect(tree.scan())).length, 8)
  await tree.close()
})

test('tombstone reclaim: a read snapshot and a retained version taken before the reclaim still see what they saw', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir, memtableBytesMax: 64 * 1024, tableBytesTarget: 16 * 1024, blockBytes: 512 })
  await load(tree, Array.from({ length: 1000 }, (_, i) => seqKey(i)), 50)
  await tree.compact({ full: true })
  const snapshot = tree.readSnapshot()
  tree.apply(tree.appliedLsn + 1, [{ type: 'deleteRange', start: seqKey(100), end: seqKey(900) }])
  await tree.flush()
  const retained = tree.retainVersion()
  await tree.compact()
  await tree.idle()
  // The reclaim happened (so the pins were what kept the old data readable).
  assert.equal(tree.stats().rangeTombstoneCount, 0)
  assert.equal((await keysInTables(fs)).length, 200)
  assert.ok(tree.stats().pinnedObsoleteTableCount > 0)
  assert.equal((await collect(snapshot.scan())).length, 1000)
  assert.notEqual(await snapshot.get(seqKey(500)), undefined)
  assert.equal(await tree.get(seqKey(500)), undefined)
  // The retained version's manifest and files, copied elsewhere, open as the state it described.
  await fs.mkdir('/copy')
  for (const f of retained.files) await atomicWriteFile(fs, posix.join('/copy', posix.basename(f)), await fs.readFile(f))
  await atomicWriteFile(fs, posix.join('/copy', manifestFileName), retained.manifest)
  retained.release()
  await snapshot.close()
  const copy = await LsmTree.open({ fs, dir: '/copy' })
  assert.equal((await collect(copy.scan())).length, 200)
  assert.equal(await copy.get(seqKey(500)), undefined)
  assert.notEqual(await copy.get(seqKey(950)), undefined)
  await copy.close()
  await tree.idle()
  assert.equal(tree.stats().pinnedObsoleteTableCount, 0)
  await tree.close()
})

test('tombstone reclaim: rewriting a table above older data keeps its point deletes (they still hide what lies below)', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir, autoCompact: false, level0TableCountTrigger: 1, rangeTombstoneCountTrigger: 1 })
  await tree.bulkLoad(
    Array.from({ length: 10 }, (_, i): [Uint8Array, Uint8Array] => [seqKey(i), Buffer.from('old')]),
    10,
  )
  tree.apply(11, [{ type: 'delete', key: seqKey(1) }])
  tree.apply(12, [{ type: 'put', key: seqKey(5), value: Buffer.from('new') }])
  await tree.flush()
  await tree.compact()
  assert.deepEqual(
    tree.stats().levels.map((l) => l.tableCount),
    [0, 1, 0, 0, 0, 0, 1],
    'the point delete sits in L1, the value it hides in L6',
  )
  tree.apply(13, [{ type: 'deleteRange', start: seqKey(5), end: seqKey(6) }])
  await tree.flush()
  await tree.compact()
  assert.equal(tree.stats().rangeTombstoneCount, 0, 'the tombstone was reclaimed')
  assert.equal(await tree.get(seqKey(1)), undefined)
  assert.equal(await tree.get(seqKey(5)), undefined)
  assert.equal((await collect(tree.scan())).length, 8)
  await tree.close()
})
