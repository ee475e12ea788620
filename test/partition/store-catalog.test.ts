import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { Store, StoreReader } from '../../src/partition/index.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

async function storeWithTwoPartitions(fs: MemoryFileSystem): Promise<void> {
  const store = await Store.open('/data', { fs })
  await (await store.createPartition('orders')).append(['a'])
  await (await store.createPartition('users')).append(['b'])
  await store.close()
}

describe('Store: the catalog at open', () => {
  test('a missing catalog with partitions on disk is CORRUPT_CATALOG, never a fresh store', async () => {
    const fs = new MemoryFileSystem()
    await storeWithTwoPartitions(fs)
    await fs.rename('/data/catalog.json', '/data/catalog.json.tmp')
    await assert.rejects(Store.open('/data', { fs }), isCode('CORRUPT_CATALOG'))
    assert.ok((await fs.list('/data')).includes('catalog.json.tmp'), 'a damaged store is left as it is')
    await assert.rejects(Store.open('/data', { fs, create: false }), isCode('CORRUPT_CATALOG'))
    await assert.rejects(StoreReader.open('/data', { fs }), isCode('CORRUPT_CATALOG'))
    assert.deepEqual(await fs.list('/data/partitions'), ['orders', 'users'])
    assert.deepEqual(await fs.list('/data/lost+found').catch(() => []), [])
  })

  test('a store created up to its empty partitions directory (crash before the catalog) is created', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/data/partitions', true)
    const store = await Store.open('/data', { fs })
    assert.deepEqual(store.partitions(), [])
    await store.close()
  })

  test('an orphan partition directory is moved to lost+found, never deleted, and info lists it', async () => {
    const fs = new MemoryFileSystem()
    await storeWithTwoPartitions(fs)
    await fs.mkdir('/data/partitions/ghost/log', true)
    const h = await fs.open('/data/partitions/ghost/log/keep-me', 'createNew')
    await h.write(new TextEncoder().encode('precious'), 0)
    await h.close()
    const store = await Store.open('/data', { fs })
    assert.deepEqual(store.partitions(), ['orders', 'users'])
    const info = await store.info()
    assert.equal(info.lostAndFound.length, 1)
    const [moved] = info.lostAndFound
    assert.match(moved!, /^ghost-/)
    assert.deepEqual(await fs.list('/data/partitions'), ['orders', 'users'])
    assert.equal(new TextDecoder().decode(await fs.readFile(`/data/lost+found/${moved}/log/keep-me`)), 'precious')
    await store.close()
    // The move is durable: after power loss the orphan is in lost+found and not back in partitions.
    fs.powerLoss()
    const again = await Store.open('/data', { fs })
    const replay = `rerun with CAIRN_SEED=${fs.seed}`
    assert.deepEqual((await again.info()).lostAndFound, [moved], replay)
    assert.deepEqual(await fs.list('/data/partitions'), ['orders', 'users'], replay)
    await again.close()
  })

  test('a leftover catalog.json.tmp is removed at open', async () => {
    const fs = new MemoryFileSystem()
    await storeWithTwoPartitions(fs)
    const h = await fs.open('/data/catalog.json.tmp', 'createNew')
    await h.write(new TextEncoder().encode('{"half'), 0)
    await h.close()
    const store = await Store.open('/data', { fs })
    assert.ok(!(await fs.list('/data')).includes('catalog.json.tmp'))
    assert.deepEqual(store.partitions(), ['orders', 'users'])
    await store.close()
  })
})
