/**
 * Store.restorePartition: a partition (new, or replacing one) whose state is bulk-loaded at LSN
 * `lsn` and whose log starts at `lsn + 1`, switched by one catalog update; a crash at any step of
 * a replacement leaves the old partition or the new, never a mix.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError, FaultFileSystem, type FileSystem, MemoryFileSystem, type Operation } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'

const enc = new TextEncoder()
const dec = new TextDecoder()
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const root = '/data'
const mutating = new Set<Operation['name']>(['write', 'append', 'truncate', 'sync', 'syncDir', 'rename', 'link', 'unlink', 'mkdir', 'removeTree'])
const seed0 = process.env.CAIRN_SEED !== undefined ? Number(process.env.CAIRN_SEED) : 1700

function restored(count: number, tag = 'restored'): [Uint8Array, Uint8Array][] {
  return Array.from({ length: count }, (_, i) => [enc.encode(`key${String(i).padStart(4, '0')}`), enc.encode(`${tag} ${i}`)] as [Uint8Array, Uint8Array])
}

async function keysOf(p: Partition): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [k, v] of p.scan()) out[dec.decode(k)] = dec.decode(v)
  return out
}

async function lsnsOf(p: Partition, fromLsn?: number): Promise<number[]> {
  const out: number[] = []
  for await (const e of p.read(fromLsn === undefined ? {} : { fromLsn })) out.push(e.lsn)
  return out
}

/** Leftovers: state or log directories the catalog does not name. */
async function leftovers(fs: FileSystem, store: Store, id: string): Promise<string[]> {
  const entry = store.catalog.partition(id)!
  const dir = `${root}/partitions/${id}`
  const names = await fs.list(dir)
  const out: string[] = []
  for (const logId of await fs.list(`${dir}/logs`)) if (!entry.logs.some((l) => l.logId === logId)) out.push(`logs/${logId}`)
  if (names.includes('states')) for (const s of await fs.list(`${dir}/states`)) if (s !== entry.stateId) out.push(`states/${s}`)
  if (entry.stateId !== undefined && names.includes('state')) out.push('state')
  if (names.includes('log')) out.push('log')
  return out
}

describe('Store.restorePartition', () => {
  test('restores a new partition: state at lsn, log from lsn + 1, reads and tails start there', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open(root, { fs })
    const p = await store.restorePartition('orders', { lsn: 100, entries: restored(500) })
    assert.equal(p.firstLsn, 101)
    assert.equal(p.lastLsn, 100)
    assert.equal(p.stateStats().durableLsn, 100)
    assert.equal(p.stateStats().appliedLsn, 100)
    assert.equal(await p.getString('key0042'), 'restored 42')
    assert.equal(Object.keys(await keysOf(p)).length, 500)
    assert.deepEqual(await lsnsOf(p), [])
    const ac = new AbortController()
    const tailed: number[] = []
    const tail = (async () => {
      for await (const e of p.tail(101, { signal: ac.signal })) {
        tailed.push(e.lsn)
        if (tailed.length === 2) ac.abort()
      }
    })()
    assert.equal(await p.put('new', 'value'), 101)
    assert.equal(await p.append(['after']), 102)
    await tail
    assert.deepEqual(tailed, [101, 102])
    assert.deepEqual(await lsnsOf(p), [101, 102])
    await store.close()
    fs.powerLoss()
    const again = await Store.open(root, { fs })
    const q = await again.partition('orders')
    assert.equal(q.firstLsn, 101)
    assert.equal(q.lastLsn, 102)
    assert.equal(await q.getString('key0499'), 'restored 499')
    assert.equal(await q.getString('new'), 'value')
    assert.deepEqual(await leftovers(fs, again, 'orders'), [])
    await again.close()
  })

  test('replaces an open partition: in-flight writes drain, the old object answers CLOSED, old files go', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open(root, { fs })
    const old = await store.createPartition('p')
    for (let i = 0; i < 30; i++) await old.put(`old${i}`, 'x')
    await old.flush()
    const inflight = [old.put('last', 'y'), old.append(['z'])]
    const oldLogId = store.catalog.partition('p')!.activeLogId
    const p = await store.restorePartition('p', { lsn: 7, entries: restored(3) })
    assert.deepEqual(await Promise.all(inflight), [31, 32], 'writes in flight were acknowledged before the switch')
    await assert.rejects(old.put('late', 'x'), isCode('CLOSED'))
    assert.equal(await store.partition('p'), p)
    assert.deepEqual(await keysOf(p), { key0000: 'restored 0', key0001: 'restored 1', key0002: 'restored 2' })
    assert.equal(p.firstLsn, 8)
    assert.equal(await p.append(['a']), 8)
    assert.equal(await fs.stat(`${root}/partitions/p/logs/${oldLogId}`), undefined)
    assert.equal(await fs.stat(`${root}/partitions/p/state`), undefined)
    // Restoring again replaces a restored state too.
    const q = await store.restorePartition('p', { lsn: 50, entries: restored(2, 'second') })
    assert.equal(await q.getString('key0001'), 'second 1')
    assert.deepEqual(await leftovers(fs, store, 'p'), [])
    assert.deepEqual(await fs.list(`${root}/partitions/p/states`), [store.catalog.partition('p')!.stateId])
    await store.close()
  })

  test('replacing a partition whose log is a chain of several logs removes every one of them', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open(root, { fs })
    const p = await store.createPartition('p')
    for (let i = 1; i <= 9; i++) {
      await p.append([`r${i}`])
      if (i % 3 === 0) await store.rollPartitionLog('p')
    }
    const oldLogs = store.catalog.partition('p')!.logs.map((l) => l.logId)
    assert.equal(oldLogs.length, 4)
    const q = await store.restorePartition('p', { lsn: 9, entries: restored(1) })
    assert.equal(q.firstLsn, 10)
    assert.deepEqual(await fs.list(`${root}/partitions/p/logs`), [store.catalog.partition('p')!.activeLogId])
    assert.deepEqual(await leftovers(fs, store, 'p'), [])
    await store.close()
  })

  test('bad entries are typed errors and leave the partition (or its absence) as it was', async () => {
    const fs = new MemoryFileSystem()
    const store = await Store.open(root, { fs })
    const p = await store.createPartition('p')
    await p.put('kept', 'yes')
    const bad: [string, [Uint8Array, Uint8Array][] | unknown[], string][] = [
      ['unsorted', [[enc.encode('b'), enc.encode('1')], [enc.encode('a'), enc.encode('2')]], 'INVALID_ARGUMENT'],
      ['duplicate', [[enc.encode('a'), enc.encode('1')], [enc.encode('a'), enc.encode('2')]], 'INVALID_ARGUMENT'],
      ['empty key', [[new Uint8Array(0), enc.encode('1')]], 'KEY_EMPTY'],
      ['key too large', [[new Uint8Array(65_537), enc.encode('1')]], 'KEY_TOO_LARGE'],
      ['value too large', [[enc.encode('a'), new Uint8Array(16 * 1024 * 1024 + 1)]], 'VALUE_TOO_LARGE'],
      ['not bytes', [['a', 'b']], 'INVALID_ARGUMENT'],
    ]
    for (const [what, entries, code] of bad) {
      await assert.rejects(store.restorePartition('p', { lsn: 5, entries: entries as [Uint8Array, Uint8Array][] }), isCode(code), what)
      await assert.rejects(store.restorePartition('fresh', { lsn: 5, entries: entries as [Uint8Array, Uint8Array][] }), isCode(code), what)
      assert.equal(store.hasPartition('fresh'), false)
      assert.equal(await fs.stat(`${root}/partitions/fresh`), undefined, `${what}: nothing left of a new partition`)
      const again = await store.partition('p')
      assert.equal(await again.getString('kept'), 'yes', what)
    }
    await assert.rejects(store.restorePartition('p', { lsn: -1, entries: [] }), isCode('INVALID_ARGUMENT'))
    assert.throws(() => store.restorePartition('Bad Id', { lsn: 1, entries: [] }), isCode('INVALID_PARTITION_ID'))
    assert.deepEqual(await leftovers(fs, store, 'p'), [])
    await store.close()
  })

  for (const crash of ['processCrash', 'powerLoss'] as const) {
    test(`a ${crash} at any step of a keepLog restore leaves the old state or the new, with the whole log`, async () => {
      let finished = false
      const oldValue = (i: number) => `value ${i} ${'o'.repeat(100)}`
      for (let k = 1; !finished; k++) {
        const seed = seed0 + 5000 + k
        try {
          const mem = new MemoryFileSystem({ seed })
          const setup = await Store.open(root, { fs: mem, segmentBytesMax: 4096, memtableBytesMax: 4096 })
          const old = await setup.createPartition('p')
          for (let i = 0; i < 40; i++) await old.put(`old${i}`, oldValue(i))
          await setup.close()
          const fs = new FaultFileSystem(mem)
          let n = 0
          let fired = false
          fs.failWhen((op) => {
            if (!mutating.has(op.name) || fired) return false
            fired = ++n === k
            return fired
          })
          let acknowledged = false
          try {
            const store = await Store.open(root, { fs })
            try {
              await store.restorePartition('p', { lsn: 20, entries: restored(60), keepLog: true })
              acknowledged = true
            } finally {
              await store.close()
            }
          } catch (e) {
            assert.ok(fired, `only the injected fault fails (${String(e)})`)
          }
          finished = !fired
          if (crash === 'processCrash') mem.processCrash()
          else mem.powerLoss()
          const store = await Store.open(root, { fs: mem })
          const p = await store.partition('p')
          const keys = await keysOf(p)
          const expected: Record<string, string> = {}
          if (keys.key0000 !== undefined) {
            for (const [key, value] of restored(60)) expected[dec.decode(key)] = dec.decode(value)
            for (let i = 20; i < 40; i++) expected[`old${i}`] = oldValue(i)
            assert.deepEqual(keys, expected, 'the new state, whole, with the records after 20 replayed')
          } else {
            assert.ok(!acknowledged, 'an acknowledged restore is not undone')
            for (let i = 0; i < 40; i++) expected[`old${i}`] = oldValue(i)
            assert.deepEqual(keys, expected, 'the old state, whole')
          }
          assert.deepEqual(await lsnsOf(p), Array.from({ length: 40 }, (_, i) => i + 1), 'the log, whole, either way')
          assert.deepEqual(await leftovers(mem, store, 'p'), [], 'leftovers removed at the partition open')
          await store.close()
        } catch (e) {
          throw new Error(`${crash} after mutating operation ${k} failed (rerun with CAIRN_SEED=${seed - 5000 - k}): ${(e as Error).message}`, { cause: e })
        }
        assert.ok(k < 1000, 'the restore ends within 1000 mutating operations')
      }
    })

    test(`a ${crash} at any step of a replacement leaves the old partition or the new, never a mix`, async () => {
      let finished = false
      for (let k = 1; !finished; k++) {
        const seed = seed0 + k
        try {
          const mem = new MemoryFileSystem({ seed })
          const setup = await Store.open(root, { fs: mem, segmentBytesMax: 4096, memtableBytesMax: 4096 })
          const old = await setup.createPartition('p')
          for (let i = 0; i < 40; i++) await old.put(`old${i}`, `value ${i} ${'o'.repeat(100)}`)
          await setup.close()
          const fs = new FaultFileSystem(mem)
          let n = 0
          let fired = false
          fs.failWhen((op) => {
            if (!mutating.has(op.name) || fired) return false
            fired = ++n === k
            return fired
          })
          let acknowledged = false
          try {
            const store = await Store.open(root, { fs })
            try {
              await store.restorePartition('p', { lsn: 1000, entries: restored(60) })
              acknowledged = true
            } finally {
              await store.close()
            }
          } catch (e) {
            assert.ok(fired, `only the injected fault fails (${String(e)})`)
          }
          finished = !fired
          if (crash === 'processCrash') mem.processCrash()
          else mem.powerLoss()
          const store = await Store.open(root, { fs: mem })
          const p = await store.partition('p')
          const keys = await keysOf(p)
          if (p.firstLsn === 1001) {
            assert.equal(Object.keys(keys).length, 60, 'the new state, whole')
            assert.equal(keys.key0059, 'restored 59')
            assert.equal(p.lastLsn, 1000)
          } else {
            assert.ok(!acknowledged, 'an acknowledged restore is not undone')
            assert.equal(Object.keys(keys).length, 40, 'the old state, whole')
            assert.equal(keys.old39, `value 39 ${'o'.repeat(100)}`)
            assert.deepEqual(await lsnsOf(p), Array.from({ length: 40 }, (_, i) => i + 1), 'the old log, whole')
          }
          assert.deepEqual(await leftovers(mem, store, 'p'), [], 'leftovers removed at the partition open')
          await store.close()
        } catch (e) {
          throw new Error(`${crash} after mutating operation ${k} failed (rerun with CAIRN_SEED=${seed - k}): ${(e as Error).message}`, { cause: e })
        }
        assert.ok(k < 1000, 'the replacement ends within 1000 mutating operations')
      }
    })
  }
})
