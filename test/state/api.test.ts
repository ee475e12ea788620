/** The state tree's API contract: limits, bulk load, LSN rules, closed state, stats. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCairnError, MemoryFileSystem } from '../../src/io/index.js'
import { keyBytesMax, LsmTree, validateStateOps, valueBytesMax } from '../../src/state/index.js'
import { collect, hex } from '../helpers/state-helpers.js'

const key = (i: number): Uint8Array => Buffer.from(`key-${String(i).padStart(6, '0')}`)

test('state api: key and value limits are typed errors and leave nothing applied', async () => {
  assert.throws(() => validateStateOps([{ type: 'put', key: new Uint8Array(keyBytesMax + 1), value: new Uint8Array(0) }]), (e) =>
    isCairnError(e, 'KEY_TOO_LARGE'),
  )
  assert.throws(() => validateStateOps([{ type: 'put', key: new Uint8Array(1), value: new Uint8Array(valueBytesMax + 1) }]), (e) =>
    isCairnError(e, 'VALUE_TOO_LARGE'),
  )
  assert.throws(() => validateStateOps([{ type: 'deleteRange', start: new Uint8Array(keyBytesMax + 1), end: new Uint8Array(0) }]), (e) =>
    isCairnError(e, 'KEY_TOO_LARGE'),
  )
  validateStateOps([{ type: 'put', key: new Uint8Array(keyBytesMax), value: new Uint8Array(1000) }])
  const tree = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/s' })
  assert.throws(
    () =>
      tree.apply(1, [
        { type: 'put', key: key(1), value: key(1) },
        { type: 'put', key: new Uint8Array(keyBytesMax + 1), value: new Uint8Array(0) },
      ]),
    (e) => isCairnError(e, 'KEY_TOO_LARGE'),
  )
  assert.equal(tree.appliedLsn, 0)
  assert.equal(await tree.get(key(1)), undefined)
  // LSNs must increase; gaps are allowed.
  tree.apply(5, [{ type: 'put', key: key(1), value: key(1) }])
  assert.throws(() => tree.apply(5, []), /above applied lsn/)
  tree.apply(9, [])
  assert.equal(tree.appliedLsn, 9)
  assert.ok(tree.unflushedBytes > 0)
  await tree.flush()
  assert.equal(tree.durableLsn, 9)
  assert.equal(tree.unflushedBytes, 0)
  // A value handed out is a copy: writing into it changes nothing stored.
  const v = (await tree.get(key(1)))!
  v.fill(0)
  assert.equal(hex((await tree.get(key(1)))!), hex(key(1)))
  const [[k2, v2]] = await collect(tree.scan({ limit: 1 }))
  assert.equal(k2, hex(key(1)))
  assert.equal(v2, hex(key(1)))
  // The caller may reuse its buffers after apply.
  const reused = Buffer.from('aaaa')
  tree.apply(10, [{ type: 'put', key: Buffer.from('r'), value: reused }])
  reused.fill(0x62)
  assert.equal(Buffer.from((await tree.get(Buffer.from('r')))!).toString(), 'aaaa')
  await tree.close()
  await assert.rejects(tree.get(key(1)), (e) => isCairnError(e, 'CLOSED'))
  assert.throws(() => tree.apply(11, []), (e) => isCairnError(e, 'CLOSED'))
})

test('state api: bulkLoad builds tables from a sorted stream at an LSN; writes continue above it', async () => {
  const fs = new MemoryFileSystem()
  let tree = await LsmTree.open({ fs, dir: '/s', tableBytesTarget: 64 * 1024, blockBytes: 1024 })
  async function* entries(): AsyncGenerator<[Uint8Array, Uint8Array]> {
    for (let i = 0; i < 20_000; i++) yield [key(i), Buffer.from(`value-${i}`)]
  }
  await tree.bulkLoad(entries(), 500)
  assert.equal(tree.appliedLsn, 500)
  assert.equal(tree.durableLsn, 500)
  assert.ok(tree.stats().tableCount > 3)
  assert.equal(Buffer.from((await tree.get(key(12345)))!).toString(), 'value-12345')
  tree.apply(501, [{ type: 'deleteRange', start: key(100), end: key(19_900) }])
  assert.equal((await collect(tree.scan())).length, 200)
  await assert.rejects(tree.bulkLoad(entries(), 600), (e) => isCairnError(e, 'INVALID_ARGUMENT'))
  await tree.close()
  tree = await LsmTree.open({ fs, dir: '/s' })
  assert.equal(tree.durableLsn, 500)
  assert.equal((await collect(tree.scan())).length, 20_000)
  await tree.close()
  // Unsorted input is refused.
  const other = await LsmTree.open({ fs, dir: '/t' })
  await assert.rejects(
    other.bulkLoad(
      [
        [key(2), key(2)],
        [key(1), key(1)],
      ],
      1,
    ),
    (e) => isCairnError(e, 'INVALID_ARGUMENT'),
  )
  await other.close()
})

test('state api: stats report levels, amplification and cache use', async () => {
  const tree = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/s', memtableBytesMax: 64 * 1024, level0TableCountTrigger: 2 })
  let lsn = 0
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 1000; i++) tree.apply(++lsn, [{ type: 'put', key: key(i), value: Buffer.alloc(50, round) }])
    if (tree.needsFlush()) await tree.flush()
  }
  await tree.flush()
  await tree.compact()
  await tree.idle()
  const s = tree.stats()
  assert.equal(s.appliedLsn, lsn)
  assert.equal(s.durableLsn, lsn)
  assert.ok(s.bytesApplied > 0 && s.bytesWrittenFlush > 0 && s.bytesWrittenCompaction > 0)
  assert.ok(s.writeAmplification > 0)
  assert.equal(s.levels.length, 7)
  assert.ok(s.tableBytes < s.bytesApplied, 'overwrites are compacted away')
  await tree.close()
})
