/**
 * Scans nobody finishes and snapshots nobody closes do not pin table files forever: once the
 * garbage collector takes them, their pins are released and the obsolete files are deleted.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(5, '0')}`)

/** Starts scans and snapshots and drops them; nothing here outlives the call. */
async function abandon(tree: LsmTree): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const it = tree.scan({ gte: key(i) })
    assert.equal((await it.next()).done, false)
  }
  for (let i = 0; i < 10; i++) {
    const snap = tree.readSnapshot()
    assert.notEqual(await snap.get(key(i)), undefined)
  }
}

test('state: abandoned scans and unclosed snapshots release their files once collected', async () => {
  const fs = new MemoryFileSystem()
  const tree = await LsmTree.open({ fs, dir: '/s', autoCompact: false, blockBytes: 512 })
  let lsn = 0
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 300; i++) tree.apply(++lsn, [{ type: 'put', key: key(i), value: Buffer.from(`v${round}-${i}`) }])
    await tree.flush()
  }
  await abandon(tree)
  await tree.compact({ full: true })
  const pinned = tree.stats().pinnedObsoleteTableCount
  assert.equal(pinned, 3, 'the three replaced tables are pinned by the abandoned readers')
  for (let i = 0; i < 100 && tree.stats().pinnedObsoleteTableCount > 0; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  assert.equal(tree.stats().pinnedObsoleteTableCount, 0)
  await tree.idle()
  const tables = (await fs.list('/s')).filter((n) => n.endsWith('.sst'))
  assert.equal(tables.length, tree.stats().tableCount, `obsolete files deleted: ${tables.join(', ')}`)
  await tree.close()
})
