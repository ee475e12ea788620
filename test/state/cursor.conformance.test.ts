/**
 * One contract for every ordered iteration of the state layer, checked against a model with
 * fast-check (seeded from CAIRN_SEED, printed on failure): keys in strictly increasing order
 * (or decreasing with `reverse`), exactly those within the gte/gt/lte/lt bounds (the tighter of
 * two on one side), at most `limit` of them, empty ranges yield nothing.
 *
 * Two levels of the contract:
 * - raw (memtable, table and level cursors, the merge of several): the newest version of each
 *   key the sources hold, point tombstones included (the reader decides what hides what);
 * - visible (the tree's scan, a read snapshot's scan, both through the read view): what a
 *   sorted map would hold after the writes, so point and range tombstones hide keys, whether
 *   they sit in the memtable or in tables below or above what they hide.
 * The state layer has no seek: a scan starts at its bound.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MemoryFileSystem } from '../../src/io/index.js'
import { type Cursor, LevelCursor, MemtableCursor, TableCursor } from '../../src/state/cursor.js'
import { Memtable } from '../../src/state/memtable.js'
import { MergeIterator } from '../../src/state/merge-iterator.js'
import { LsmTree, type ScanRange, type StateOp } from '../../src/state/index.js'
import { BlockCache, Table, TableWriter } from '../../src/state/table/index.js'
import { boundsOf, compareBytes } from '../../src/state/types.js'
import { testSeed, withSeed } from '../helpers/seed.js'
import { hex } from '../helpers/state-helpers.js'

/** A write at seq = its index + 1: a put, a point delete (value undefined) or a range delete. */
type Write = { key: Uint8Array; value: Uint8Array | undefined } | { start: Uint8Array; end: Uint8Array }
/** An entry as iterated: hex key, hex value or null for a point tombstone. */
type Entry = [string, string | null]

const byte = fc.constantFrom(0, 1, 0x61, 0xff)
const keyArb = fc.array(byte, { minLength: 1, maxLength: 3 }).map((a) => new Uint8Array(a))
const boundArb = fc.array(byte, { minLength: 0, maxLength: 3 }).map((a) => new Uint8Array(a))
const pointArb: fc.Arbitrary<Write> = fc.record({ key: keyArb, value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined, freq: 4 }) })
const rangeDeleteArb: fc.Arbitrary<Write> = fc.record({ start: keyArb, end: keyArb })
const rangeArb: fc.Arbitrary<ScanRange> = fc.record(
  { gte: boundArb, gt: boundArb, lte: boundArb, lt: boundArb, reverse: fc.boolean(), limit: fc.integer({ min: 0, max: 12 }) },
  { requiredKeys: [] },
)
const runs = Number(process.env.CAIRN_CONFORMANCE_RUNS ?? 120)

function inRange(range: ScanRange, key: string): boolean {
  const { gte, gt, lte, lt } = range
  return (
    (gte === undefined || key >= hex(gte)) && (gt === undefined || key > hex(gt)) && (lte === undefined || key <= hex(lte)) && (lt === undefined || key < hex(lt))
  )
}

/** Orders, bounds and limits entries as the contract says (hex order is unsigned byte order). */
function expect(entries: Map<string, string | null>, range: ScanRange): Entry[] {
  const keys = [...entries.keys()].filter((k) => inRange(range, k)).sort()
  if (range.reverse === true) keys.reverse()
  return keys.slice(0, range.limit ?? keys.length).map((k) => [k, entries.get(k)!])
}

/** The raw model: the newest version of each key among the point writes. */
function newestVersions(writes: readonly Write[]): Map<string, string | null> {
  const m = new Map<string, string | null>()
  for (const w of writes) if ('key' in w) m.set(hex(w.key), w.value === undefined ? null : hex(w.value))
  return m
}

/** The visible model: a sorted map after every write. */
function visibleState(writes: readonly Write[]): Map<string, string | null> {
  const m = new Map<string, string | null>()
  for (const w of writes) {
    if ('key' in w) {
      if (w.value === undefined) m.delete(hex(w.key))
      else m.set(hex(w.key), hex(w.value))
    } else {
      for (const k of [...m.keys()]) if (k >= hex(w.start) && k < hex(w.end)) m.delete(k)
    }
  }
  return m
}

/** Drives a cursor (or merge) to the end or the limit. */
async function drain(c: { key: Uint8Array; value: Uint8Array | undefined; next(): boolean | Promise<boolean> }, first: boolean | Promise<boolean>, limit: number | undefined): Promise<Entry[]> {
  const out: Entry[] = []
  let ok = await first
  let last: Uint8Array | undefined
  while (ok && (limit === undefined || out.length < limit)) {
    if (last !== undefined) assert.notEqual(compareBytes(last, c.key), 0, 'a key comes once')
    last = c.key
    out.push([hex(c.key), c.value === undefined ? null : hex(c.value)])
    ok = await c.next()
  }
  return out
}

let tableId = 0
/** A table holding the newest version of each key of `writes`, blocks of 64 bytes (many per table). */
async function tableOf(fs: MemoryFileSystem, cache: BlockCache, entries: [Uint8Array, number, Uint8Array | undefined][]): Promise<Table> {
  const writer = await TableWriter.create(fs, '/t', ++tableId, 64)
  for (const [k, seq, v] of entries) await writer.add(k, seq, v)
  const info = await writer.finish(0)
  return Table.open(fs, writer.path, info, cache)
}

/** Newest version of each key of the point writes, sorted, with its seq. */
function sortedNewest(writes: readonly Write[], seqBase = 0): [Uint8Array, number, Uint8Array | undefined][] {
  const m = new Map<string, [Uint8Array, number, Uint8Array | undefined]>()
  writes.forEach((w, i) => {
    if ('key' in w) m.set(hex(w.key), [w.key, seqBase + i + 1, w.value])
  })
  return [...m.values()].sort((a, b) => compareBytes(a[0], b[0]))
}

interface RawSource {
  /** Cursors newest first, over `writes` (point writes only). */
  cursors(range: ScanRange): Cursor[]
  close(): Promise<void>
}

/** Checks one raw implementation: `build` turns point writes into its cursors. */
async function checkRaw(name: string, build: (writes: Write[]) => Promise<RawSource>, merged: boolean): Promise<void> {
  await withSeed(testSeed(), (seed) =>
    fc.assert(
      fc.asyncProperty(fc.array(pointArb, { minLength: 1, maxLength: 60 }), fc.array(rangeArb, { minLength: 1, maxLength: 6 }), async (writes, ranges) => {
        const source = await build(writes)
        try {
          for (const range of ranges) {
            const cursors = source.cursors(range)
            const got = merged
              ? await (async () => {
                  const m = new MergeIterator(cursors, range.reverse === true)
                  return drain(m, m.start(), range.limit)
                })()
              : await drain(cursors[0]!, cursors[0]!.start(), range.limit)
            assert.deepEqual(got, expect(newestVersions(writes), range), `${name} ${JSON.stringify(range)}`)
          }
        } finally {
          await source.close()
        }
      }),
      { numRuns: runs, seed },
    ),
  )
}

test('cursor conformance: memtable cursor', async () => {
  await checkRaw(
    'memtable',
    async (writes) => {
      const m = new Memtable()
      for (const [i, w] of writes.entries()) if ('key' in w) m.set(w.key, i + 1, w.value)
      return { cursors: (r) => [new MemtableCursor(m, boundsOf(r), r.reverse === true)], close: async () => undefined }
    },
    false,
  )
})

test('cursor conformance: table cursor', async () => {
  await checkRaw(
    'table',
    async (writes) => {
      const fs = new MemoryFileSystem()
      await fs.mkdir('/t')
      const t = await tableOf(fs, new BlockCache(1 << 20), sortedNewest(writes))
      return { cursors: (r) => [new TableCursor(t, boundsOf(r), r.reverse === true)], close: () => t.close() }
    },
    false,
  )
})

test('cursor conformance: level cursor (a sorted run of several tables, cache bypassed)', async () => {
  await checkRaw(
    'level',
    async (writes) => {
      const fs = new MemoryFileSystem()
      await fs.mkdir('/t')
      const cache = new BlockCache(1 << 20)
      const all = sortedNewest(writes)
      const tables: Table[] = []
      for (let i = 0; i < all.length; i += 5) tables.push(await tableOf(fs, cache, all.slice(i, i + 5)))
      return {
        cursors: (r) => [new LevelCursor(tables, boundsOf(r), r.reverse === true, false)],
        close: async () => {
          for (const t of tables) await t.close()
        },
      }
    },
    false,
  )
})

test('cursor conformance: merge of a memtable, a table and a level (newest source wins)', async () => {
  await checkRaw(
    'merge',
    async (writes) => {
      const fs = new MemoryFileSystem()
      await fs.mkdir('/t')
      const cache = new BlockCache(1 << 20)
      const third = Math.ceil(writes.length / 3)
      const oldest = sortedNewest(writes.slice(0, third))
      const tables: Table[] = []
      for (let i = 0; i < oldest.length; i += 4) tables.push(await tableOf(fs, cache, oldest.slice(i, i + 4)))
      const middle = sortedNewest(writes.slice(third, 2 * third), third)
      const table = middle.length > 0 ? await tableOf(fs, cache, middle) : undefined
      const m = new Memtable()
      for (const [i, w] of writes.entries()) if (i >= 2 * third && 'key' in w) m.set(w.key, i + 1, w.value)
      return {
        cursors: (r) => {
          const b = boundsOf(r)
          const rev = r.reverse === true
          const cs: Cursor[] = [new MemtableCursor(m, b, rev)]
          if (table !== undefined) cs.push(new TableCursor(table, b, rev))
          if (tables.length > 0) cs.push(new LevelCursor(tables, b, rev))
          return cs
        },
        close: async () => {
          await table?.close()
          for (const t of tables) await t.close()
        },
      }
    },
    true,
  )
})

/** Applies `writes` to a tree, one record each, flushing (and compacting) at the given points. */
async function treeOf(writes: readonly Write[], flushAt: ReadonlySet<number>, compactAt: ReadonlySet<number>): Promise<LsmTree> {
  const tree = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/s', blockBytes: 64, level0TableCountTrigger: 2, autoCompact: false })
  for (const [i, w] of writes.entries()) {
    const op: StateOp = 'key' in w ? (w.value === undefined ? { type: 'delete', key: w.key } : { type: 'put', key: w.key, value: w.value }) : { type: 'deleteRange', ...w }
    tree.apply(i + 1, [op])
    if (flushAt.has(i)) await tree.flush()
    if (compactAt.has(i)) await tree.compact()
  }
  return tree
}

async function collectScan(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<Entry[]> {
  const out: Entry[] = []
  for await (const [k, v] of it) out.push([hex(k), hex(v)])
  return out
}

const visibleCase = fc.tuple(
  fc.array(fc.oneof({ weight: 5, arbitrary: pointArb }, { weight: 1, arbitrary: rangeDeleteArb }), { minLength: 0, maxLength: 60 }),
  fc.uniqueArray(fc.nat(60), { maxLength: 4 }),
  fc.uniqueArray(fc.nat(60), { maxLength: 2 }),
  fc.array(rangeArb, { minLength: 1, maxLength: 6 }),
)

test('cursor conformance: the tree\'s scan (read view over memtables, tables and range tombstones)', async () => {
  await withSeed(testSeed(), (seed) =>
    fc.assert(
      fc.asyncProperty(visibleCase, async ([writes, flushAt, compactAt, ranges]) => {
        const tree = await treeOf(writes, new Set(flushAt), new Set(compactAt))
        try {
          for (const range of ranges) assert.deepEqual(await collectScan(tree.scan(range)), expect(visibleState(writes), range), JSON.stringify(range))
        } finally {
          await tree.close()
        }
      }),
      { numRuns: runs, seed },
    ),
  )
})

test('cursor conformance: a read snapshot\'s scan (writes, flushes and compactions after it do not show)', async () => {
  await withSeed(testSeed(), (seed) =>
    fc.assert(
      fc.asyncProperty(visibleCase, fc.array(pointArb, { maxLength: 20 }), async ([writes, flushAt, compactAt, ranges], later) => {
        const tree = await treeOf(writes, new Set(flushAt), new Set(compactAt))
        const snap = tree.readSnapshot()
        try {
          let lsn = tree.appliedLsn
          for (const w of later) if ('key' in w) tree.apply(++lsn, [w.value === undefined ? { type: 'delete', key: w.key } : { type: 'put', key: w.key, value: w.value }])
          tree.apply(++lsn, [{ type: 'deleteRange', start: new Uint8Array([0]), end: new Uint8Array([0xff, 0xff, 0xff, 0xff]) }])
          await tree.flush()
          await tree.compact({ full: true })
          for (const range of ranges) assert.deepEqual(await collectScan(snap.scan(range)), expect(visibleState(writes), range), JSON.stringify(range))
        } finally {
          await snap.close()
          await tree.close()
        }
      }),
      { numRuns: runs, seed },
    ),
  )
})
