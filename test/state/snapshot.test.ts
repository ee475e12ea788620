/**
 * Read snapshots: stable while writes, flushes and compactions go on; they pin table files, which
 * are deleted only once nothing references them.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'
import { collect, hex } from '../helpers/state-helpers.js'

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(7, '0')}`)

test('state snapshot: stays identical, byte for byte, while 100k writes, flushes and compactions happen', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({
    fs,
    dir: '/s',
    memtableBytesMax: 256 * 1024,
    blockBytes: 1024,
    tableBytesTarget: 256 * 1024,
    level1BytesMax: 1024 * 1024,
    levelBytesMultiplier: 4,
  })
  let lsn = 0
  for (let i = 0; i < 5000; i++) tree.apply(++lsn, [{ type: 'put', key: key(i * 3), value: Buffer.from(`initial-${i}`) }])
  await tree.flush()
  for (let i = 5000; i < 8000; i++) tree.apply(++lsn, [{ type: 'put', key: key(i * 3), value: Buffer.from(`memtable-${i}`) }])
  const snap = tree.readSnapshot()
  assert.equal(snap.lsn, lsn)
  const before = await collect(snap.scan())
  const beforeReverse = await collect(snap.scan({ reverse: true, gte: key(3000), lt: key(9000) }))
  assert.equal(before.length, 8000)
  let flushes = 0
  for (let i = 0; i < 100_000; i++) {
    const n = (i * 7919) % 30000
    const ops =
      i % 1000 === 999
        ? [{ type: 'deleteRange' as const, start: key(n), end: key(n + 500) }]
        : i % 10 === 0
          ? [{ type: 'delete' as const, key: key(n) }]
          : [{ type: 'put' as const, key: key(n), value: Buffer.from(`overwrite-${i}`) }]
    tree.apply(++lsn, ops)
    if (tree.needsFlush()) {
      await tree.flush()
      flushes++
    }
    if (i % 25_000 === 24_999) {
      await tree.compact()
      assert.deepEqual(await collect(snap.scan()), before, `snapshot changed after ${i + 1} writes`)
    }
  }
  await tree.compact({ full: true })
  const stats = tree.stats()
  assert.ok(flushes >= 10 && stats.compactionCount >= 3, `flushes ${flushes}, compactions ${stats.compactionCount}`)
  assert.ok(stats.pinnedObsoleteTableCount > 0, 'the snapshot pins replaced tables')
  assert.deepEqual(await collect(snap.scan()), before)
  assert.deepEqual(await collect(snap.scan({ reverse: true, gte: key(3000), lt: key(9000) })), beforeReverse)
  for (let i = 0; i < 8000; i += 97) {
    const v = await snap.get(key(i * 3))
    assert.equal(Buffer.from(v!).toString(), i < 5000 ? `initial-${i}` : `memtable-${i}`)
  }
  await snap.close()
  await tree.idle()
  assert.equal(tree.stats().pinnedObsoleteTableCount, 0, 'closing the snapshot released its tables')
  await assert.rejects(snap.get(key(0)), (e: { code?: string }) => e.code === 'CLOSED')
  await tree.close()
})

test('state snapshot: a table replaced by compaction is unlinked only after the snapshot (and an open scan) let go', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir: '/s', blockBytes: 128, autoCompact: false })
  let lsn = 0
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 600; i++) tree.apply(++lsn, [{ type: 'put', key: key(i), value: Buffer.from(`r${round}-${i}`) }])
    await tree.flush()
  }
  const tablesBefore = (await fs.list('/s')).filter((n) => n.endsWith('.sst'))
  assert.equal(tablesBefore.length, 3)
  const snap = tree.readSnapshot()
  const scan = tree.scan()
  assert.equal(hex((await scan.next()).value![0]), hex(key(0)))
  await tree.compact({ full: true })
  const after = (await fs.list('/s')).filter((n) => n.endsWith('.sst'))
  for (const t of tablesBefore) assert.ok(after.includes(t), `${t} still on disk while pinned`)
  assert.equal(after.length, 4)
  assert.equal(Buffer.from((await snap.get(key(5)))!).toString(), 'r2-5')
  await snap.close()
  await tree.idle()
  // The open scan (past its first batch) still pins them.
  for (const t of tablesBefore) assert.ok((await fs.list('/s')).includes(t), `${t} pinned by the scan`)
  let n = 1
  for await (const _ of scan) n++
  assert.equal(n, 600)
  await tree.idle()
  const final = (await fs.list('/s')).filter((n) => n.endsWith('.sst'))
  assert.equal(final.length, 1)
  assert.ok(!tablesBefore.includes(final[0]!))
  // retainVersion pins the same way (for checkpoints).
  const retained = tree.retainVersion()
  assert.deepEqual(retained.files, [`/s/${final[0]}`])
  tree.apply(++lsn, [{ type: 'deleteRange', start: key(0), end: key(50) }])
  await tree.flush()
  await tree.compact({ full: true })
  assert.ok((await fs.list('/s')).includes(final[0]!), 'retained table kept')
  retained.release()
  await tree.idle()
  assert.ok(!(await fs.list('/s')).includes(final[0]!), 'released table deleted')
  assert.equal(await tree.get(key(10)), undefined)
  assert.equal((await collect(tree.scan())).length, 550)
  await tree.close()
})
