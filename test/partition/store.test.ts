import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

describe('Store', () => {
  test('creates, lists, reopens partitions', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs })
    const p = await store.createPartition('orders')
    await p.append(['a', 'b'])
    await store.ensurePartition('users')
    assert.deepEqual(store.partitions(), ['orders', 'users'])
    await assert.rejects(store.createPartition('orders'), isCode('PARTITION_EXISTS'))
    await assert.rejects(store.partition('nope'), isCode('PARTITION_NOT_FOUND'))
    await store.close()
    const again = await Store.open('/data', { fs })
    // info() opens nothing: unopened partitions show the catalog's entry and their files.
    const info = await again.info()
    assert.deepEqual(
      info.partitions.map((x) => [x.id, x.open, 'lastLsn' in x]),
      [
        ['orders', false, false],
        ['users', false, false],
      ],
    )
    assert.equal(again.openPartitionCount, 0)
    for (const x of info.partitions) assert.ok(!x.open && 'diskBytes' in x && x.diskBytes > 0 && x.fileCount > 0)
    assert.equal((await again.partition('orders')).lastLsn, 2)
    assert.deepEqual(
      (await again.info()).partitions.map((x) => [x.id, x.open, 'lastLsn' in x ? x.lastLsn : undefined]),
      [
        ['orders', true, 2],
        ['users', false, undefined],
      ],
    )
    assert.equal((await again.partition('users')).lastLsn, 0)
    await again.close()
  })

  test('invalid and traversal-shaped partition ids never touch the file system', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem())
    const store = await Store.open('/data', { fs })
    const before = fs.count
    for (const id of ['', '../etc', 'a/b', 'A', '-x', '_x', 'x'.repeat(65), 'a b', 'a\u0000', '..', '.', 'é']) {
      await assert.rejects(async () => store.createPartition(id), isCode('INVALID_PARTITION_ID'))
      await assert.rejects(async () => store.partition(id), isCode('INVALID_PARTITION_ID'))
      await assert.rejects(async () => store.ensurePartition(id), isCode('INVALID_PARTITION_ID'))
    }
    assert.equal(fs.count, before)
    await store.close()
  })

  test('a second opener in this process gets STORE_LOCKED; after close it opens', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs })
    await assert.rejects(Store.open('/data', { fs }), isCode('STORE_LOCKED'))
    await store.close()
    const again = await Store.open('/data', { fs })
    await again.close()
  })

  test('a second opener in another process gets STORE_LOCKED', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-lock-'))
    try {
      const store = await Store.open(dir)
      const script = `import { Store } from ${JSON.stringify(new URL('../../src/partition/index.ts', import.meta.url).href)}
try { await Store.open(${JSON.stringify(dir)}); console.log('opened') } catch (e) { console.log(e.code) }`
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
      assert.equal(child.stdout.trim(), 'STORE_LOCKED', child.stderr)
      await store.close()
      assert.ok(!(await readdir(dir)).includes('LOCK'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a store left locked by a crash reopens, and a store not found is reported', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs })
    await (await store.createPartition('p')).append(['x'])
    fs.powerLoss()
    const again = await Store.open('/data', { fs })
    assert.equal((await again.partition('p')).lastLsn, 1)
    await again.close()
    await assert.rejects(Store.open('/missing', { fs, create: false }), isCode('STORE_NOT_FOUND'))
  })

  test('a crash between partition directory and catalog leaves no partition behind', async () => {
    const mem = new MemoryFileSystem()
    const fs = new FaultFileSystem(mem)
    const store = await Store.open('/data', { fs })
    fs.failWhen((op) => op.name === 'rename' && op.path.endsWith('catalog.json.tmp'))
    await assert.rejects(store.createPartition('p'), isCode('IO_ERROR'))
    fs.heal()
    mem.powerLoss()
    const again = await Store.open('/data', { fs })
    assert.deepEqual(again.partitions(), [])
    assert.deepEqual(await fs.list('/data/partitions'), [])
    const p = await again.createPartition('p')
    assert.equal(await p.append(['ok']), 1)
    await again.close()
  })

  test('a damaged catalog is CORRUPT_CATALOG', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open('/data', { fs })
    await store.createPartition('p')
    await store.close()
    const bytes = await fs.readFile('/data/catalog.json')
    const text = new TextDecoder().decode(bytes).replace('"p"', '"q"')
    const h = await fs.open('/data/catalog.json', 'createOrTruncate')
    await h.write(new TextEncoder().encode(text), 0)
    await h.close()
    await assert.rejects(Store.open('/data', { fs }), isCode('CORRUPT_CATALOG'))
  })
})
