/**
 * Faults during flush and compaction: an I/O error at every operation of either surfaces as an
 * error, leaves the tree consistent and usable, and a retry succeeds; power loss at every point
 * (the Nth operation and all after it fail, then the machine loses unsynced data) recovers, after
 * replay of the log, to exactly the model, with no unreferenced table left behind.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FaultFileSystem, type FileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree, type StateOp, type StateOptions } from '../../src/state/index.js'
import { assertSameState, type Model, TestLog } from '../helpers/state-helpers.js'

const dir = '/data/state'
const options = (fs: FileSystem): StateOptions => ({
  fs,
  dir,
  memtableBytesMax: 2048,
  blockBytes: 128,
  tableBytesTarget: 1024,
  level0TableCountTrigger: 3,
  level1BytesMax: 4096,
  levelBytesMultiplier: 2,
  autoCompact: false,
})

const key = (i: number): Uint8Array => Buffer.from(`key-${String(i % 97).padStart(3, '0')}`)

function writeSome(tree: LsmTree, log: TestLog, round: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const n = round * 1000 + i
    const ops: StateOp[] =
      n % 13 === 0
        ? [{ type: 'deleteRange', start: key(n), end: key(n + 5) }]
        : n % 5 === 0
          ? [{ type: 'delete', key: key(n * 7) }]
          : [{ type: 'put', key: key(n * 3), value: Buffer.from(`value-${n}-${'x'.repeat(n % 40)}`) }]
    tree.apply(log.append(ops), ops)
  }
}

/** A tree with a few flushed tables (a compaction is due) and unflushed writes. */
async function prepare(fs: FileSystem, log: TestLog): Promise<LsmTree> {
  const tree = await LsmTree.open(options(fs))
  for (let round = 0; round < 3; round++) {
    writeSome(tree, log, round, 40)
    await tree.flush()
  }
  writeSome(tree, log, 3, 40)
  return tree
}

async function assertNoOrphans(fs: FileSystem, tree: LsmTree): Promise<void> {
  await tree.idle()
  const files = (await fs.list(dir)).filter((n) => n !== 'MANIFEST')
  assert.equal(files.filter((n) => n.endsWith('.sst')).length, tree.stats().tableCount, `files: ${files.join(' ')}`)
  assert.ok(!files.some((n) => n.endsWith('.tmp')), `temp files left: ${files.join(' ')}`)
}

type Work = 'flush' | 'compact'

async function runWork(tree: LsmTree, work: Work): Promise<void> {
  if (work === 'flush') await tree.flush()
  else await tree.compact()
}

for (const work of ['flush', 'compact'] as Work[]) {
  test(`state faults: an I/O error at each operation of a ${work} surfaces, keeps the tree consistent, and a retry succeeds`, async () => {
    let failures = 0
    for (let n = 1; ; n++) {
      const mem = new MemoryFileSystem()
      const fs = new FaultFileSystem(mem)
      const log = new TestLog()
      let tree = await prepare(fs, log)
      if (work === 'compact') await tree.flush()
      const model: Model = log.modelAt(log.lsn)
      fs.failAt(fs.count + n)
      let failed = false
      try {
        await runWork(tree, work)
      } catch (e) {
        failed = true
        assert.equal((e as NodeJS.ErrnoException).code, 'EIO', `the injected error surfaces: ${String(e)}`)
      }
      fs.heal()
      await assertSameState(tree, model, `after failed ${work} at op ${n}`)
      await runWork(tree, work)
      if (work === 'flush') assert.equal(tree.durableLsn, tree.appliedLsn)
      else assert.equal(tree.stats().levels[0]!.tableCount, 0, 'the retried compaction ran')
      await assertSameState(tree, model, `after retried ${work}`)
      await assertNoOrphans(fs, tree)
      await tree.close()
      tree = await LsmTree.open(options(mem))
      log.replay(tree)
      await assertSameState(tree, model, 'after reopen')
      await tree.close()
      if (!failed) break
      failures++
    }
    console.log(`${work}: injected a failure at each of ${failures} operations`)
    assert.ok(failures > 10, 'the work ran enough operations to test')
  })

  test(`state faults: power loss at each point of a ${work} recovers to the model after replay`, async () => {
    let cuts = 0
    for (let n = 1; ; n++) {
      const mem = new MemoryFileSystem()
      const fs = new FaultFileSystem(mem)
      const log = new TestLog()
      let tree = await prepare(fs, log)
      if (work === 'compact') await tree.flush()
      const durableBefore = tree.durableLsn
      fs.failAt(fs.count + n, { persistent: true })
      let failed = false
      try {
        await runWork(tree, work)
      } catch {
        failed = true
      }
      mem.powerLoss()
      await tree.close().catch(() => undefined)
      tree = await LsmTree.open(options(mem))
      assert.ok(tree.durableLsn >= durableBefore, 'the durable LSN never goes back')
      await assertSameState(tree, log.modelAt(tree.durableLsn), `state at durable LSN after power loss at op ${n}`)
      log.replay(tree)
      await assertSameState(tree, log.modelAt(log.lsn), `after replay, power loss at op ${n}`)
      await assertNoOrphans(mem, tree)
      // The recovered tree keeps working.
      writeSome(tree, log, 9, 30)
      await tree.flush()
      await tree.compact({ full: true })
      await assertSameState(tree, log.modelAt(log.lsn), 'after more work')
      await tree.close()
      if (!failed) break
      cuts++
    }
    console.log(`${work}: cut power at each of ${cuts} operations`)
    assert.ok(cuts > 10)
  })
}
