import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
/** Seeds for the random power losses: CAIRN_SEED alone when set, else a fixed range. */
const seeds = process.env.CAIRN_SEED !== undefined ? [Number(process.env.CAIRN_SEED)] : Array.from({ length: 40 }, (_, i) => 500 + i)

describe('Store.open relies only on what is durable', () => {
  test('a catalog rename whose directory fsync never ran is made durable before the store uses it', async () => {
    const mem = new MemoryFileSystem()
    const fs = new FaultFileSystem(mem)
    const first = await Store.open('/data', { fs })
    // The catalog is renamed into place, then the process dies before the root's fsync.
    fs.failWhen((op) => op.name === 'syncDir' && op.path === '/data', { once: true })
    await assert.rejects(first.createPartition('p'), isCode('IO_ERROR'))
    mem.processCrash()
    // The next process sees the rename (page cache) and acknowledges writes to the partition.
    const second = await Store.open('/data', { fs: mem })
    assert.deepEqual(second.partitions(), ['p'])
    assert.equal(await (await second.partition('p')).append(['acknowledged']), 1)
    await second.close()
    mem.powerLoss({ keep: 'synced-only' })
    const third = await Store.open('/data', { fs: mem })
    assert.deepEqual(third.partitions(), ['p'])
    const p = await third.partition('p')
    assert.equal(p.lastLsn, 1)
    assert.deepEqual((await third.info()).lostAndFound, [])
    await third.close()
  })

  test('under random power losses, an acknowledged write to a partition the store relied on survives', async () => {
    for (const seed of seeds) {
      try {
        const mem = new MemoryFileSystem({ seed })
        const fs = new FaultFileSystem(mem)
        const first = await Store.open('/data', { fs })
        await first.createPartition('old')
        fs.failWhen((op) => op.name === 'syncDir' && op.path === '/data', { once: true })
        await assert.rejects(first.createPartition('p'))
        mem.processCrash()
        const second = await Store.open('/data', { fs: mem })
        assert.equal(await (await second.partition('p')).append(['acknowledged']), 1)
        mem.powerLoss()
        const third = await Store.open('/data', { fs: mem })
        assert.deepEqual(third.partitions(), ['old', 'p'])
        assert.equal((await third.partition('p')).lastLsn, 1)
        assert.deepEqual((await third.info()).lostAndFound, [])
        await third.close()
      } catch (e) {
        throw new Error(`seed ${seed} failed (rerun with CAIRN_SEED=${seed}): ${(e as Error).message}`, { cause: e })
      }
    }
  })
})
