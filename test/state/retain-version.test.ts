/**
 * retainVersion, what a backup (Partition.retainState) stands on: the table files with their
 * sizes, the manifest of exactly them and the durable LSN; the files stay on disk and readable
 * across full compactions until release, and are deleted once released.
 */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import { test } from 'node:test'
import { atomicWriteFile, type FileSystem, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { LsmTree, type StateOp } from '../../src/state/index.js'
import { withTempDir } from '../helpers/temp-dir.js'
import { collect, TestLog } from '../helpers/state-helpers.js'

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(5, '0')}`)

async function write(tree: LsmTree, log: TestLog, round: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ops: StateOp[] =
      i === 150 ? [{ type: 'deleteRange', start: key(round * 10), end: key(round * 10 + 40) }] : [{ type: 'put', key: key((i * 7 + round) % 500), value: Buffer.from(`v${round}-${i}`) }]
    tree.apply(log.append(ops), ops)
  }
  await tree.flush()
}

async function retainAcrossCompactions(fs: FileSystem, root: string): Promise<void> {
  const dir = posix.join(root, 'state')
  const log = new TestLog()
  const tree = await LsmTree.open({ fs, dir, blockBytes: 256, memtableBytesMax: 16 * 1024, tableBytesTarget: 4 * 1024, level0TableCountTrigger: 2, autoCompact: false })
  for (let r = 0; r < 4; r++) await write(tree, log, r)
  await tree.compact()
  await write(tree, log, 4)
  const retained = tree.retainVersion()
  assert.equal(retained.durableLsn, tree.durableLsn)
  assert.ok(retained.tables.length > 1)
  assert.deepEqual(retained.files, retained.tables.map((t) => t.path))
  for (const t of retained.tables) {
    assert.equal(posix.basename(t.path), t.name)
    assert.equal((await fs.stat(t.path))?.size, t.bytes, `${t.name} has the size retainVersion gave`)
  }
  const expected = log.modelAt(retained.durableLsn).entries()
  // Everything the retained version holds is compacted away (twice), with more writes between.
  await write(tree, log, 5)
  await tree.compact({ full: true })
  await write(tree, log, 6)
  await tree.compact({ full: true })
  await tree.idle()
  const live = new Set((await fs.list(dir)).filter((n) => n.endsWith('.sst')))
  const current = tree.retainVersion()
  const currentNames = new Set(current.tables.map((t) => t.name))
  current.release()
  assert.ok(retained.tables.every((t) => !currentNames.has(t.name)), 'no retained table is in the current version')
  for (const t of retained.tables) {
    assert.ok(live.has(t.name), `${t.name} is still on disk`)
    assert.equal((await fs.stat(t.path))?.size, t.bytes)
  }
  // The files and manifest, copied into an empty directory, open as exactly the retained state.
  const copyDir = posix.join(root, 'copy')
  await fs.mkdir(copyDir)
  for (const t of retained.tables) await atomicWriteFile(fs, posix.join(copyDir, t.name), await fs.readFile(t.path))
  await atomicWriteFile(fs, posix.join(copyDir, retained.manifestName), retained.manifest)
  const copy = await LsmTree.open({ fs, dir: copyDir })
  assert.equal(copy.durableLsn, retained.durableLsn)
  assert.deepEqual(await collect(copy.scan()), expected)
  await copy.close()
  assert.ok(tree.stats().pinnedObsoleteTableCount >= retained.tables.length)
  retained.release()
  retained.release() // idempotent
  await tree.idle()
  const after = new Set(await fs.list(dir))
  for (const t of retained.tables) assert.ok(!after.has(t.name), `${t.name} deleted once released`)
  assert.equal(tree.stats().pinnedObsoleteTableCount, 0)
  assert.deepEqual(await collect(tree.scan()), log.modelAt(log.lsn).entries())
  await tree.close()
}

test('retainVersion keeps its files readable across full compactions, and release deletes them (memory file system)', async () => {
  await retainAcrossCompactions(new MemoryFileSystem(), '/r')
})

test('retainVersion keeps its files readable across full compactions, and release deletes them (real file system)', async () => {
  await withTempDir((dir) => retainAcrossCompactions(new NodeFileSystem(), dir))
})
