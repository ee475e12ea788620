/**
 * A trim gap: a partition whose next needed LSN (state durable LSN + 1) is below its log's first
 * LSN is TRIM_GAP at open (never CORRUPT_LOG, never an empty partition), leaves the store and the
 * other partitions usable, and is repaired by `restorePartition(id, { lsn, entries, keepLog })`:
 * the state from a snapshot at or past the gap, the log chain kept and replayed from `lsn + 1`.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, Store, StoreReader } from '../../src/partition/index.js'

const enc = new TextEncoder()
const dec = new TextDecoder()
const root = '/data'
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

async function keysOf(p: Partition): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [k, v] of p.scan()) out[dec.decode(k)] = dec.decode(v)
  return out
}

const value = (i: number): string => `v${i} ${'x'.repeat(60)}`

/** The state of a model after records 1..lsn of `gapped` (record i puts k<i % 20> = v<i>). */
function modelAt(lsn: number): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 1; i <= lsn; i++) out[`k${String(i % 20).padStart(2, '0')}`] = value(i)
  return out
}

function entriesOf(state: Record<string, string>): [Uint8Array, Uint8Array][] {
  return Object.keys(state)
    .sort()
    .map((k) => [enc.encode(k), enc.encode(state[k]!)] as [Uint8Array, Uint8Array])
}

/**
 * A store whose partition `p` has a trim gap: 200 records, the log trimmed past 100, then the
 * state directory lost (durable LSN 0 at the next open). Partition `other` is healthy.
 */
async function gapped(fs: MemoryFileSystem): Promise<{ firstLsn: number }> {
  const store = await Store.open(root, { fs, segmentBytesMax: 4096 })
  const p = await store.createPartition('p')
  for (let i = 1; i <= 200; i++) await p.put(`k${String(i % 20).padStart(2, '0')}`, value(i))
  await p.flush()
  const firstLsn = await p.trim(101)
  assert.ok(firstLsn > 1 && firstLsn <= 101, `the trim dropped whole segments (first LSN ${firstLsn})`)
  await (await store.createPartition('other')).put('a', 'b')
  await store.close()
  await fs.removeTree(`${root}/partitions/p/state`)
  return { firstLsn }
}

describe('trim gap', () => {
  test('opening a partition with a trim gap is TRIM_GAP with what is needed; the store and other partitions stay usable', async () => {
    const fs = new MemoryFileSystem()
    const { firstLsn } = await gapped(fs)
    const store = await Store.open(root, { fs })
    await assert.rejects(store.partition('p'), (e: unknown) => {
      assert.ok(e instanceof CairnError, String(e))
      assert.equal(e.code, 'TRIM_GAP', e.message)
      assert.deepEqual(e.context, { partition: 'p', neededLsn: 1, firstLsn, lastLsn: 200 })
      assert.match(e.message, /cairn snapshot restore/)
      return true
    })
    assert.equal(await (await store.partition('other')).getString('a'), 'b')
    const info = await store.info()
    assert.deepEqual(
      info.partitions.map((x) => x.id),
      ['other', 'p'],
    )
    // Asking again answers the same (nothing was changed or created by the failed open).
    await assert.rejects(store.partition('p'), isCode('TRIM_GAP'))
    await store.close()
  })

  test('a read-only view of a partition with a trim gap is TRIM_GAP too (not STORE_BUSY)', async () => {
    const fs = new MemoryFileSystem()
    const { firstLsn } = await gapped(fs)
    const reader = await StoreReader.open(root, { fs })
    await assert.rejects(reader.openPartition('p'), (e: unknown) => {
      assert.ok(e instanceof CairnError && e.code === 'TRIM_GAP', String(e))
      assert.deepEqual(e.context, { partition: 'p', neededLsn: 1, firstLsn, lastLsn: 200 })
      return true
    })
    await reader.close()
  })

  test('restorePartition with keepLog: the state from a snapshot at the gap, the log kept and replayed', async () => {
    const fs = new MemoryFileSystem()
    const { firstLsn } = await gapped(fs)
    const store = await Store.open(root, { fs })
    const lsn = firstLsn + 10
    const logsBefore = store.catalog.partition('p')!.logs
    const p = await store.restorePartition('p', { lsn, entries: entriesOf(modelAt(lsn)), keepLog: true })
    assert.deepEqual(await keysOf(p), modelAt(200), 'the records after the snapshot were replayed')
    assert.equal(p.firstLsn, firstLsn, 'the log chain kept')
    assert.equal(p.lastLsn, 200)
    assert.equal(p.durableLsn >= lsn, true)
    assert.deepEqual(store.catalog.partition('p')!.logs, logsBefore, 'the same chain')
    assert.equal(await p.put('k00', 'after'), 201)
    await store.close()
    fs.powerLoss()
    const again = await Store.open(root, { fs })
    const q = await again.partition('p')
    assert.deepEqual(await keysOf(q), { ...modelAt(200), k00: 'after' })
    assert.equal(q.firstLsn, firstLsn)
    assert.deepEqual(await fs.list(`${root}/partitions/p`), ['logs', 'states'], 'the old state directory is gone')
    await again.close()
  })

  test('restorePartition with keepLog at exactly the gap (lsn + 1 = first LSN) and at the head', async () => {
    for (const at of ['gap', 'head'] as const) {
      const fs = new MemoryFileSystem()
      const { firstLsn } = await gapped(fs)
      const store = await Store.open(root, { fs })
      const lsn = at === 'gap' ? firstLsn - 1 : 200
      const p = await store.restorePartition('p', { lsn, entries: entriesOf(modelAt(lsn)), keepLog: true })
      assert.deepEqual(await keysOf(p), modelAt(200), at)
      assert.equal(p.lastLsn, 200, at)
      await store.close()
    }
  })

  test('restorePartition with keepLog refuses a state the log cannot continue: before the gap, or past the head', async () => {
    const fs = new MemoryFileSystem()
    const { firstLsn } = await gapped(fs)
    const store = await Store.open(root, { fs })
    const before = firstLsn - 2
    await assert.rejects(store.restorePartition('p', { lsn: before, entries: entriesOf(modelAt(before)), keepLog: true }), (e: unknown) => {
      assert.ok(e instanceof CairnError && e.code === 'TRIM_GAP', String(e))
      assert.deepEqual(e.context, { partition: 'p', neededLsn: before + 1, firstLsn, lastLsn: 200 })
      return true
    })
    await assert.rejects(store.restorePartition('p', { lsn: 250, entries: [], keepLog: true }), isCode('INVALID_ARGUMENT'))
    await assert.rejects(store.restorePartition('fresh', { lsn: 5, entries: [], keepLog: true }), isCode('PARTITION_NOT_FOUND'))
    assert.equal(store.hasPartition('fresh'), false)
    // Nothing changed: still the gap, and no state directory left behind.
    await assert.rejects(store.partition('p'), isCode('TRIM_GAP'))
    assert.equal(await fs.stat(`${root}/partitions/p/states`), undefined)
    await store.close()
  })

  test('restorePartition with keepLog of a healthy open partition replaces its state and keeps every record', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open(root, { fs })
    const p = await store.createPartition('p')
    for (let i = 1; i <= 30; i++) await p.put(`k${String(i % 20).padStart(2, '0')}`, value(i))
    const q = await store.restorePartition('p', { lsn: 12, entries: entriesOf(modelAt(12)), keepLog: true })
    await assert.rejects(p.put('x', 'y'), isCode('CLOSED'))
    assert.deepEqual(await keysOf(q), modelAt(30))
    assert.equal(q.firstLsn, 1)
    const lsns: number[] = []
    for await (const e of q.read()) lsns.push(e.lsn)
    assert.equal(lsns.length, 30)
    await store.close()
  })
})
