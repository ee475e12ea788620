/**
 * Opening a store of format 1 upgrades it to format 2, and a crash at any step of the upgrade
 * (kill -9 or power loss after its k-th mutating file operation, for every k) leaves a store
 * the next open finishes upgrading, with every record and key.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { atomicWriteFile, CairnError, FaultFileSystem, type FileSystem, MemoryFileSystem, type Operation, sha256Hex } from '../../src/io/index.js'
import { Store, StoreReader } from '../../src/partition/index.js'
import { catalogVersionOnDisk, type Format1Contents, format1SegmentBytesMax, writeFormat1Store } from './store-format1.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const root = '/data'
const mutating = new Set<Operation['name']>(['write', 'append', 'truncate', 'sync', 'syncDir', 'rename', 'link', 'unlink', 'mkdir', 'removeTree'])
const seed0 = process.env.CAIRN_SEED !== undefined ? Number(process.env.CAIRN_SEED) : 900

/** Opens the store and every partition (the upgrade's last step runs at a partition's first open). */
async function openAll(fs: FileSystem): Promise<void> {
  const store = await Store.open(root, { fs, segmentBytesMax: format1SegmentBytesMax })
  try {
    for (const id of store.partitions()) await store.partition(id)
  } finally {
    await store.close()
  }
}

async function checkUpgraded(fs: FileSystem, contents: Format1Contents): Promise<void> {
  const store = await Store.open(root, { fs, segmentBytesMax: format1SegmentBytesMax })
  try {
    assert.deepEqual(store.partitions(), ['empty', 'events', 'kv'])
    for (const id of store.partitions()) {
      const p = await store.partition(id)
      const payloads: string[] = []
      for await (const e of p.read()) payloads.push(e.type === 1 ? new TextDecoder().decode(e.payload) : '')
      assert.deepEqual(payloads, contents.payloads[id], `partition ${id}: every record`)
      for (const [key, value] of Object.entries(contents.keys[id]!)) assert.equal(await p.getString(key), value, `partition ${id}: key ${key}`)
      const entry = store.catalog.partition(id)!
      assert.equal(entry.logs.length, 1)
      assert.deepEqual(await fs.list(`${root}/partitions/${id}`).then((names) => names.includes('log')), false, `partition ${id}: format 1's log/ removed`)
      assert.ok((await fs.list(`${root}/partitions/${id}/logs/${entry.activeLogId}`)).length > 0)
    }
    assert.equal(await p1append(store), contents.payloads.events!.length + 1, 'appends go on after the upgrade')
  } finally {
    await store.close()
  }
  assert.equal(await catalogVersionOnDisk(fs, root), 2)
}

async function p1append(store: Store): Promise<number> {
  const p = await store.partition('events')
  const lsn = await p.append(['after the upgrade'])
  await p.trim(0)
  return lsn
}

describe('Store upgrade from format 1', () => {
  test('a format-1 store opens upgraded: logs moved to logs/<logId>/, catalog version 2, every record and key there', async () => {
    const fs = new MemoryFileSystem()
    const contents = await writeFormat1Store(fs, root)
    assert.equal(await catalogVersionOnDisk(fs, root), 1)
    assert.ok((await fs.list(`${root}/partitions/events/log`)).length > 1, 'the fixture has several segments')
    await assert.rejects(StoreReader.open(root, { fs }).then((r) => r.partitions()), isCode('UNSUPPORTED_FORMAT'))
    await checkUpgraded(fs, contents)
    // Appends made after the upgrade are there too (and the store opens again as format 2).
    const store = await Store.open(root, { fs })
    assert.equal((await store.partition('events')).lastLsn, contents.payloads.events!.length + 1)
    await store.close()
  })

  for (const crash of ['processCrash', 'powerLoss'] as const) {
    test(`a ${crash} after any mutating operation of the upgrade leaves a store the next open finishes`, async () => {
      let finished = false
      for (let k = 1; !finished; k++) {
        const seed = seed0 + k
        try {
          const mem = new MemoryFileSystem({ seed })
          const contents = await writeFormat1Store(mem, root)
          const fs = new FaultFileSystem(mem)
          let n = 0
          let fired = false
          fs.failWhen((op) => {
            if (!mutating.has(op.name) || fired) return false
            fired = ++n === k
            return fired
          })
          try {
            await openAll(fs)
          } catch (e) {
            assert.ok(fired, `only the injected fault fails the upgrade (${String(e)})`)
          }
          finished = !fired
          if (crash === 'processCrash') mem.processCrash()
          else mem.powerLoss()
          await checkUpgraded(mem, contents)
        } catch (e) {
          throw new Error(`${crash} after mutating operation ${k} failed (rerun with CAIRN_SEED=${seed - k}): ${(e as Error).message}`, { cause: e })
        }
        assert.ok(k < 500, 'the upgrade ends within 500 mutating operations')
      }
    })
  }

  test('a catalog from a newer cairn is UNSUPPORTED_FORMAT, saying to upgrade cairn, and nothing is touched', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open(root, { fs })
    await (await store.createPartition('p')).append(['x'])
    const data = store.catalog.data
    await store.close()
    const body = { ...data, version: 3 }
    const bytes = new TextEncoder().encode(JSON.stringify({ checksum: sha256Hex(JSON.stringify(body)), body }, null, 2))
    await atomicWriteFile(fs, `${root}/catalog.json`, bytes)
    const failed = await Store.open(root, { fs }).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(isCode('UNSUPPORTED_FORMAT')(failed), String(failed))
    assert.match((failed as Error).message, /upgrade cairn/)
    assert.deepEqual(await fs.readFile(`${root}/catalog.json`), bytes)
  })
})
