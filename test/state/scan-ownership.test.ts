/**
 * Scans hand out entries that are views of private block copies: a caller that writes into the
 * keys and values it got must not change the tree, the block cache, or the scan itself.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'
import { collect } from '../helpers/state-helpers.js'

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(7, '0')}`)

test('state scan: writing into yielded keys and values changes neither the tree nor the scan', async () => {
  const tree = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/s', blockBytes: 512, autoCompact: false })
  let lsn = 0
  // Three overlapping sources: two L0 tables and the memtable, so the merge must skip versions.
  for (let i = 0; i < 3000; i++) tree.apply(++lsn, [{ type: 'put', key: key(i), value: Buffer.from(`a-${i}`) }])
  await tree.flush()
  for (let i = 0; i < 3000; i += 2) tree.apply(++lsn, [{ type: 'put', key: key(i), value: Buffer.from(`b-${i}`) }])
  await tree.flush()
  for (let i = 0; i < 3000; i += 3) tree.apply(++lsn, [{ type: 'put', key: key(i), value: Buffer.from(`c-${i}`) }])
  const expected = await collect(tree.scan())
  assert.equal(expected.length, 3000)
  for (const reverse of [false, true]) {
    let n = 0
    let previous: string | undefined
    for await (const [k, v] of tree.scan({ reverse })) {
      const ks = Buffer.from(k).toString()
      if (previous !== undefined) assert.ok(reverse ? ks < previous : ks > previous, `order at ${ks}`)
      previous = ks
      k.fill(0)
      v.fill(0)
      n++
    }
    assert.equal(n, 3000)
  }
  assert.deepEqual(await collect(tree.scan()), expected)
  assert.equal(Buffer.from((await tree.get(key(4)))!).toString(), 'b-4')
  assert.equal(Buffer.from((await tree.get(key(5)))!).toString(), 'a-5')
  await tree.close()
})
