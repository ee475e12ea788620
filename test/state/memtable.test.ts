/**
 * The memtable's sorted index against a reference: keys inserted in random order, with ordered
 * reads between inserts (so that few new keys are merged into many, and many into few), read
 * snapshots taken along the way and a deleteRange, iterated both ways; every view must list
 * exactly the reference's keys as of its LSN, in byte order.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { seededRandom } from '../../src/io/seeded-random.js'
import { latin1Key, Memtable, MemtableCore } from '../../src/state/memtable.js'
import { testSeed, withSeed } from '../helpers/seed.js'

function keyOf(n: number): Uint8Array {
  const k = new Uint8Array(3)
  k[0] = n >> 16
  k[1] = (n >> 8) & 0xff
  k[2] = n & 0xff
  return k
}

function listed(m: Memtable, reverse: boolean, bound?: string): string[] {
  const out: string[] = []
  for (const [k, e] of reverse ? m.entriesReversed(bound) : m.entries(bound)) {
    assert.equal(latin1Key(e.key), k)
    out.push(k)
  }
  return out
}

for (const mapKeysMax of [undefined, 500]) {
test(`memtable: the sorted index lists every key once, in order, for the memtable and each snapshot${mapKeysMax === undefined ? '' : ` (keys spread over maps of ${mapKeysMax})`}`, () =>
  withSeed(testSeed(), (seed) => {
    const rnd = seededRandom(seed)
    const m = new Memtable(mapKeysMax === undefined ? undefined : new MemtableCore(mapKeysMax))
    const live = new Set<string>()
    const snapshots: Array<{ m: Memtable; keys: string[] }> = []
    let lsn = 0
    // Phases of different sizes between ordered reads: big ones merge linearly, small ones into a big index by search.
    for (const phase of [3000, 5, 1, 40, 2000, 7, 0, 100, 3]) {
      for (let i = 0; i < phase; i++) {
        lsn++
        const k = keyOf(rnd.int(0, 50_000))
        m.set(k, lsn, rnd.int(0, 9) === 0 ? undefined : k)
        m.noteLsn(lsn)
        live.add(latin1Key(k))
      }
      if (phase === 40) {
        lsn++
        const start = keyOf(20_000)
        const end = keyOf(21_000)
        m.deleteRange(start, end, lsn)
        m.noteLsn(lsn)
        for (const k of [...live]) if (k >= latin1Key(start) && k < latin1Key(end)) live.delete(k)
      }
      const expected = [...live].sort()
      for (const k of expected) assert.equal(m.get(Buffer.from(k, 'latin1'))?.seq !== undefined, true, 'every live key is found')
      assert.deepEqual(listed(m, false), expected)
      assert.deepEqual(listed(m, true), [...expected].reverse())
      const mid = latin1Key(keyOf(25_000))
      assert.deepEqual(listed(m, false, mid), expected.filter((k) => k >= mid))
      assert.deepEqual(listed(m, true, mid), expected.filter((k) => k <= mid).reverse())
      snapshots.push({ m: m.snapshot(), keys: expected })
    }
    // Later writes never show in an earlier snapshot.
    for (const s of snapshots) assert.deepEqual(listed(s.m, false), s.keys)
  }))
}
