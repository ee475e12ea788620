/**
 * Model-based test of a partition end to end (reducer, log, state, flush, compaction, reopen,
 * power loss) against a sorted map of what was acknowledged. The seed comes from CAIRN_SEED
 * (else a fresh one); a failure names it: replay with CAIRN_SEED=<seed> (and FC_PATH=<path> from
 * the printed report for the shrunk case).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, type Reducer, Store } from '../../src/partition/index.js'
import type { ReadSnapshot } from '../../src/state/index.js'
import { assertProperty } from '../helpers/seed.js'

type Model = Map<string, string>
interface Real {
  mem: MemoryFileSystem
  store: Store
  p: Partition
  snapshots: Array<{ snap: ReadSnapshot; expected: string[] }>
}

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const reducer: Reducer = (payload, _lsn, tx) => {
  const [op, k, v] = text(payload).split(' ')
  if (op === 'set') tx.put(k!, v!)
  else if (op === 'del') tx.delete(k!)
}
const options = (mem: MemoryFileSystem) => ({ fs: mem, reducer, memtableBytesMax: 2048, segmentBytesMax: 4096, blockCacheBytesMax: 64 * 1024 })

function sorted(model: Model, lo?: string, hi?: string): string[] {
  return [...model.entries()]
    .filter(([k]) => (lo === undefined || k >= lo) && (hi === undefined || k < hi))
    .sort(([a], [b]) => (Buffer.compare(Buffer.from(a), Buffer.from(b))))
    .map(([k, v]) => `${k}=${v}`)
}

async function scanAll(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of it) out.push(`${text(k)}=${text(v)}`)
  return out
}

const key = fc.stringMatching(/^[a-f][0-9]{0,2}$/)
const value = fc.stringMatching(/^[a-z0-9]{0,30}$/)

type Cmd = fc.AsyncCommand<Model, Real>

class Put implements Cmd {
  constructor(readonly k: string, readonly v: string) {}
  check = () => true
  async run(m: Model, r: Real) {
    await r.p.put(this.k, this.v)
    m.set(this.k, this.v)
  }
  toString = () => `put(${this.k},${this.v})`
}
class Del implements Cmd {
  constructor(readonly k: string) {}
  check = () => true
  async run(m: Model, r: Real) {
    await r.p.delete(this.k)
    m.delete(this.k)
  }
  toString = () => `del(${this.k})`
}
class DelRange implements Cmd {
  constructor(readonly a: string, readonly b: string) {}
  check = () => true
  async run(m: Model, r: Real) {
    await r.p.deleteRange(this.a, this.b)
    for (const k of [...m.keys()]) if (k >= this.a && k < this.b) m.delete(k)
  }
  toString = () => `deleteRange(${this.a},${this.b})`
}
class Events implements Cmd {
  constructor(readonly events: Array<[string, string]>) {}
  check = () => true
  async run(m: Model, r: Real) {
    await r.p.append(this.events.map(([k, v]) => (v === '' ? `del ${k}` : `set ${k} ${v}`)))
    for (const [k, v] of this.events) v === '' ? m.delete(k) : m.set(k, v)
  }
  toString = () => `events(${JSON.stringify(this.events)})`
}
class Get implements Cmd {
  constructor(readonly k: string) {}
  check = () => true
  async run(m: Model, r: Real) {
    const got = await r.p.get(this.k)
    assert.equal(got === undefined ? undefined : text(got), m.get(this.k), `get ${this.k}`)
  }
  toString = () => `get(${this.k})`
}
class Scan implements Cmd {
  constructor(readonly lo: string | undefined, readonly hi: string | undefined, readonly reverse: boolean) {}
  check = () => true
  async run(m: Model, r: Real) {
    const got = await scanAll(r.p.scan({ ...(this.lo && { gte: this.lo }), ...(this.hi && { lt: this.hi }), reverse: this.reverse }))
    const want = sorted(m, this.lo, this.hi)
    assert.deepEqual(got, this.reverse ? want.reverse() : want)
  }
  toString = () => `scan(${this.lo},${this.hi},${this.reverse})`
}
class Snapshot implements Cmd {
  check = () => true
  async run(m: Model, r: Real) {
    if (r.snapshots.length >= 3) await r.snapshots.shift()!.snap.close()
    r.snapshots.push({ snap: r.p.readSnapshot(), expected: sorted(m) })
  }
  toString = () => 'readSnapshot'
}
class CheckSnapshots implements Cmd {
  check = () => true
  async run(_m: Model, r: Real) {
    for (const { snap, expected } of r.snapshots) assert.deepEqual(await scanAll(snap.scan({})), expected)
  }
  toString = () => 'checkSnapshots'
}
class Flush implements Cmd {
  check = () => true
  async run(_m: Model, r: Real) {
    await r.p.flush()
  }
  toString = () => 'flush'
}
class Compact implements Cmd {
  check = () => true
  async run(_m: Model, r: Real) {
    await r.p.compact()
  }
  toString = () => 'compact'
}
class Reopen implements Cmd {
  constructor(readonly crash: boolean) {}
  check = () => true
  async run(m: Model, r: Real) {
    for (const { snap } of r.snapshots) await snap.close()
    r.snapshots = []
    if (this.crash) r.mem.powerLoss()
    else await r.store.close()
    r.store = await Store.open('/data', options(r.mem))
    r.p = await r.store.partition('p')
    assert.deepEqual(await scanAll(r.p.scan()), sorted(m), 'state after reopen equals everything acknowledged')
  }
  toString = () => (this.crash ? 'powerLoss+reopen' : 'reopen')
}

const commands = [
  fc.tuple(key, value).map(([k, v]) => new Put(k, v)),
  fc.tuple(key, value).map(([k, v]) => new Put(k, v)),
  key.map((k) => new Del(k)),
  fc.tuple(key, key).map(([a, b]) => {
    const [lo, hi] = [a, b].sort()
    return new DelRange(lo!, hi!)
  }),
  fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 5 }).map((e) => new Events(e)),
  key.map((k) => new Get(k)),
  fc.tuple(fc.option(key, { nil: undefined }), fc.option(key, { nil: undefined }), fc.boolean()).map(([a, b, rev]) => new Scan(a, b, rev)),
  fc.constant(new Snapshot()),
  fc.constant(new CheckSnapshots()),
  fc.constant(new Flush()),
  fc.constant(new Compact()),
  fc.boolean().map((crash) => new Reopen(crash)),
]

test('partition behaves like a sorted map of acknowledged writes, across flush, compaction, reopen and power loss', async () => {
  await assertProperty(
    // The crash model's seed is part of the case, so CAIRN_SEED/FC_PATH replay its power losses too.
    fc.asyncProperty(fc.commands(commands, { maxCommands: 80 }), fc.nat(), async (cmds, memSeed) => {
      const mem = new MemoryFileSystem({ seed: memSeed })
      const store = await Store.open('/data', options(mem))
      const real: Real = { mem, store, p: await store.ensurePartition('p'), snapshots: [] }
      try {
        await fc.asyncModelRun(() => ({ model: new Map(), real }), cmds)
      } finally {
        for (const { snap } of real.snapshots) await snap.close()
        await real.store.close().catch(() => undefined)
      }
    }),
    { numRuns: Number(process.env.CAIRN_MODEL_RUNS ?? 300), verbose: 1 },
  )
})
