/**
 * StoreReader over a partition whose history is a chain of logs: reads, tails and read-only
 * views span the sealed logs and the active one, and a reader notices when the owner rolled to
 * a new log or dropped whole logs. The chain is rolled with the store closed (the log layer and
 * the catalog directly, as a rollover does), then the store is opened again.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { CairnError, NodeFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { Catalog, Store, StoreReader } from '../../src/partition/index.js'
import { StoreLayout } from '../../src/partition/store-layout.js'
import { withTempDir } from '../helpers/temp-dir.js'

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const options = { segmentBytesMax: 4096 }

/** Seals the partition's active log and starts the next one at its last LSN + 1 (store closed). */
async function rollOffline(dir: string, id: string): Promise<void> {
  const fs = new NodeFileSystem()
  const layout = new StoreLayout(dir)
  const catalog = (await Catalog.load(fs, dir))!
  const active = catalog.partition(id)!.logs.at(-1)!
  const old = await FileLog.open({ fs, dir: layout.logDir(id, active.logId), logId: active.logId, ...options })
  const firstLsn = old.lastLsn + 1
  await old.seal()
  await old.close()
  const logId = randomBytes(16).toString('hex')
  await (await FileLog.open({ fs, dir: layout.logDir(id, logId), logId, startLsn: firstLsn, ...options })).close()
  await catalog.update((c) => {
    c.partitions[id]!.logs.push({ logId, firstLsn })
    c.partitions[id]!.activeLogId = logId
  })
}

async function putSome(dir: string, from: number, to: number): Promise<void> {
  const store = await Store.open(dir, options)
  const p = await store.ensurePartition('p')
  for (let i = from; i <= to; i++) await p.put(`k${i}`, `v${i}`)
  await store.close()
}

describe('StoreReader over a chain of logs', () => {
  test('reads, readBatches and views span every log of the chain; a trim that drops whole logs is seen', async () => {
    await withTempDir(async (dir) => {
      await putSome(dir, 1, 40)
      await rollOffline(dir, 'p')
      await putSome(dir, 41, 80)
      await rollOffline(dir, 'p')
      await putSome(dir, 81, 100)
      const store = await Store.open(dir, options)
      const reader = await StoreReader.open(dir)
      try {
        const p = await store.partition('p')
        assert.equal(store.catalog.partition('p')!.logs.length, 3)
        const lsns: number[] = []
        for await (const e of reader.read('p')) lsns.push(e.lsn)
        assert.deepEqual(lsns, Array.from({ length: 100 }, (_, i) => i + 1))
        const across: number[] = []
        for await (const batch of reader.readBatches('p', { fromLsn: 35, toLsn: 85 })) for (const e of batch) across.push(e.lsn)
        assert.deepEqual(across, Array.from({ length: 51 }, (_, i) => i + 35))
        const view = await reader.openPartition('p')
        assert.equal(view.appliedLsn, 100)
        assert.equal(view.info().logId, store.catalog.partition('p')!.activeLogId)
        for (const i of [1, 40, 41, 80, 81, 100]) assert.equal(text((await view.get(`k${i}`))!), `v${i}`)
        await view.close()

        // The owner flushes and trims: the two sealed logs go, first from the catalog.
        await p.flush()
        await p.trim(p.trimFloor)
        assert.equal(store.catalog.partition('p')!.logs.length, 1)
        await assert.rejects(async () => {
          for await (const _ of reader.read('p', { fromLsn: 1 })) break
        }, isCode('LSN_TRIMMED'))
        assert.equal((await reader.log('p')).firstLsn, p.firstLsn)
        const fresh = await reader.openPartition('p')
        assert.equal(text((await fresh.get('k1'))!), 'v1')
        assert.equal(fresh.appliedLsn, 100)
      } finally {
        await reader.close()
        await store.close()
      }
    })
  })

  test('a tail follows the owner onto its next log', async () => {
    await withTempDir(async (dir) => {
      await putSome(dir, 1, 10)
      const reader = await StoreReader.open(dir, { pollIntervalMs: 5 })
      const ac = new AbortController()
      const seen: number[] = []
      const following = (async () => {
        for await (const e of reader.tail('p', 1, { signal: ac.signal })) {
          seen.push(e.lsn)
          if (e.lsn === 30) ac.abort()
        }
      })()
      try {
        await putSome(dir, 11, 20)
        await rollOffline(dir, 'p')
        await putSome(dir, 21, 30)
        await following
        assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i + 1))
        assert.equal((await reader.log('p')).logId, (await Catalog.load(new NodeFileSystem(), dir))!.partition('p')!.activeLogId)
      } finally {
        ac.abort()
        await following.catch(() => undefined)
        await reader.close()
      }
    })
  })

  test('after the owner restores the partition, views and reads see the restored state and its new log', async () => {
    await withTempDir(async (dir) => {
      await putSome(dir, 1, 30)
      const store = await Store.open(dir, options)
      const reader = await StoreReader.open(dir)
      try {
        assert.equal((await reader.openPartition('p')).appliedLsn, 30)
        const bytes = (t: string) => new TextEncoder().encode(t)
        const p = await store.restorePartition('p', { lsn: 500, entries: [[bytes('a'), bytes('1')], [bytes('b'), bytes('2')]] })
        await p.put('c', '3')
        const view = await reader.openPartition('p')
        const seen: string[] = []
        for await (const [k, v] of view.scan()) seen.push(`${text(k)}=${text(v)}`)
        assert.deepEqual(seen, ['a=1', 'b=2', 'c=3'])
        assert.equal(view.appliedLsn, 501)
        assert.equal(view.info().durableLsn, 500)
        const lsns: number[] = []
        for await (const e of reader.read('p')) lsns.push(e.lsn)
        assert.deepEqual(lsns, [501])
      } finally {
        await reader.close()
        await store.close()
      }
    })
  })
})
