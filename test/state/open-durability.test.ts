/**
 * What open trusts is durable: a manifest renamed into place by a process that died before its
 * directory fsync is made durable by the next open before it is used, so the durable LSN an open
 * reports never goes back after a later power loss (the partition trims its log by it).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(5, '0')}`)

test('state open: a manifest whose rename was never made durable is made durable before it is trusted', async () => {
  const mem = new MemoryFileSystem()
  const fs = new FaultFileSystem(mem)
  const tree = await LsmTree.open({ fs, dir: '/s', autoCompact: false })
  for (let i = 0; i < 100; i++) tree.apply(i + 1, [{ type: 'put', key: key(i), value: Buffer.from(`a${i}`) }])
  await tree.flush()
  assert.equal(tree.durableLsn, 100)
  for (let i = 0; i < 100; i++) tree.apply(101 + i, [{ type: 'put', key: key(i), value: Buffer.from(`b${i}`) }])
  // The process dies right after the new manifest is renamed into place, before the directory fsync.
  let renamed = false
  fs.failWhen((op) => {
    if (op.name === 'rename' && op.path.endsWith('MANIFEST.tmp')) renamed = true
    return renamed && op.name === 'syncDir'
  })
  await assert.rejects(tree.flush())
  mem.processCrash()
  // The next process sees the new manifest (the page cache kept the rename) and trusts it.
  const second = await LsmTree.open({ fs: mem, dir: '/s', autoCompact: false })
  const trusted = second.durableLsn
  assert.equal(trusted, 200)
  mem.powerLoss({ keep: 'synced-only' })
  const third = await LsmTree.open({ fs: mem, dir: '/s', autoCompact: false })
  assert.ok(third.durableLsn >= trusted, `open trusted durable LSN ${trusted}, after power loss it is ${third.durableLsn}`)
  assert.equal(Buffer.from((await third.get(key(7)))!).toString(), 'b7')
  await third.close()
})
