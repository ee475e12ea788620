import assert from 'node:assert/strict'
import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { Store, StoreReader } from '../../src/partition/index.js'
import { withTempDir } from '../helpers/temp-dir.js'

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

describe('StoreReader: reading logs beside a live writer', () => {
  test('reads, follows across segment rolls and trims, never writes', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir, { segmentBytesMax: 4096, memtableBytesMax: 4096 })
      const p = await store.ensurePartition('events')
      await p.append(['a', 'b'])
      await p.put('k', 'v')
      const reader = await StoreReader.open(dir, { pollIntervalMs: 5 })
      try {
        const first = []
        for await (const e of reader.read('events')) first.push(`${e.lsn}:${text(e.payload)}:${e.ops.length}`)
        assert.deepEqual(first, ['1:a:0', '2:b:0', '3::1'])
        const log = await reader.log('events')
        assert.throws(() => log.append([{ type: 1, payload: new Uint8Array(1) }]), isCode('READ_ONLY'))
        await assert.rejects(log.trim(2), isCode('READ_ONLY'))

        const ac = new AbortController()
        const seen: number[] = []
        const following = (async () => {
          for await (const e of reader.tail('events', 2, { signal: ac.signal })) {
            seen.push(e.lsn)
            if (e.lsn === 303) ac.abort()
          }
        })()
        for (let i = 0; i < 300; i++) await p.append([`record-${i}-${'x'.repeat(60)}`])
        await p.flush()
        await p.trim(200)
        await following
        assert.deepEqual(seen, Array.from({ length: 302 }, (_, i) => i + 2))
        assert.ok(p.info().segmentCount > 1)
        // After the writer trimmed, the reader drops the segments too.
        await reader.refresh('events')
        assert.equal((await reader.log('events')).firstLsn, p.firstLsn)
        await assert.rejects(async () => {
          for await (const _ of reader.read('events', { fromLsn: 1 })) break
        }, isCode('LSN_TRIMMED'))
      } finally {
        await reader.close()
        await store.close()
      }
    })
  })

  test('a write in progress at the end of the log is not an error, just not there yet', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open(dir)
      const p = await store.ensurePartition('events')
      await p.append(['a'])
      const logId = store.catalog.partition('events')!.activeLogId
      await store.close()
      const segment = join(dir, 'partitions', 'events', 'logs', logId, '00000000000000000001.log')
      await appendFile(segment, new Uint8Array([0x43, 0x52, 0x4e, 0x4c, 9, 0, 0, 0, 2, 0]))
      const reader = await StoreReader.open(dir)
      const log = await reader.log('events')
      assert.equal(log.lastLsn, 1)
      assert.equal(await reader.refresh('events'), false)
      await reader.close()
    })
  })

  test('unknown store and partition are typed errors', async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(StoreReader.open(join(dir, 'nope')), isCode('STORE_NOT_FOUND'))
      const store = await Store.open(dir)
      const reader = await StoreReader.open(dir)
      await assert.rejects(reader.log('missing'), isCode('PARTITION_NOT_FOUND'))
      await assert.rejects(reader.log('../x'), isCode('INVALID_PARTITION_ID'))
      await reader.close()
      await store.close()
    })
  })
})
