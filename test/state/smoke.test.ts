import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'

const b = (s: string): Uint8Array => Buffer.from(s)
const s = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : Buffer.from(u).toString())

test('state smoke: put/get/delete/deleteRange across flush, compaction and reopen', async () => {
  const fs = new MemoryFileSystem()
  let tree = await LsmTree.open({ fs, dir: '/s', memtableBytesMax: 4096, blockBytes: 256, level0TableCountTrigger: 2, autoCompact: false })
  let lsn = 0
  for (let i = 0; i < 500; i++) tree.apply(++lsn, [{ type: 'put', key: b(`k${String(i).padStart(4, '0')}`), value: b(`v${i}`) }])
  await tree.flush()
  tree.apply(++lsn, [{ type: 'delete', key: b('k0003') }])
  tree.apply(++lsn, [{ type: 'deleteRange', start: b('k0100'), end: b('k0200') }])
  tree.apply(++lsn, [{ type: 'put', key: b('k0150'), value: b('again') }])
  assert.equal(s(await tree.get(b('k0002'))), 'v2')
  assert.equal(await tree.get(b('k0003')), undefined)
  assert.equal(await tree.get(b('k0120')), undefined)
  assert.equal(s(await tree.get(b('k0150'))), 'again')
  await tree.flush()
  assert.equal(tree.durableLsn, lsn)
  const snap = tree.readSnapshot()
  await tree.compact({ full: true })
  assert.equal(await tree.get(b('k0120')), undefined)
  assert.equal(s(await tree.get(b('k0150'))), 'again')
  const keys: string[] = []
  for await (const [k] of tree.scan({ gte: b('k0098'), lt: b('k0203') })) keys.push(s(k)!)
  assert.deepEqual(keys, ['k0098', 'k0099', 'k0150', 'k0200', 'k0201', 'k0202'])
  const rev: string[] = []
  for await (const [k] of tree.scan({ gt: b('k0098'), lte: b('k0202'), reverse: true, limit: 3 })) rev.push(s(k)!)
  assert.deepEqual(rev, ['k0202', 'k0201', 'k0200'])
  let n = 0
  for await (const _ of snap.scan()) n++
  assert.equal(n, 500 - 1 - 100 + 1)
  await snap.close()
  await tree.close()
  tree = await LsmTree.open({ fs, dir: '/s' })
  assert.equal(tree.durableLsn, lsn)
  assert.equal(s(await tree.get(b('k0150'))), 'again')
  assert.equal(await tree.get(b('k0120')), undefined)
  console.log(tree.stats())
  await tree.close()
})
