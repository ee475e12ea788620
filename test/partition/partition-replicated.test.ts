/**
 * `Partition.appendReplicated`: a store fed another store's records (as `readBatches` yields
 * them, or as raw log entries) holds the same log and the same state, without running its own
 * reducer; a gap or a duplicate is refused with nothing written. Random writes (fast-check, with
 * a reducer) seeded from CAIRN_SEED; a failure names the seed.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { encodeStateBatch, type Partition, type PartitionEntry, type Reducer, Store, stateRecordType } from '../../src/partition/index.js'
import { assertProperty } from '../helpers/seed.js'

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

/** Payloads "set k v", "del k", "wipe a b" (a deleteRange), "note ..." (no state). */
const reducer: Reducer = (payload, lsn, tx) => {
  const [op, a, b] = text(payload).split(' ')
  if (op === 'set') tx.put(a!, `${b}@${lsn}`)
  else if (op === 'del') tx.delete(a!)
  else if (op === 'wipe') tx.deleteRange(a!, b!)
}
const refuse: Reducer = () => {
  throw new Error('a replica never reduces')
}

async function scanAll(p: Partition): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of p.scan()) out.push(`${text(k)}=${text(v)}`)
  return out
}

const show = (e: PartitionEntry) =>
  JSON.stringify({
    lsn: e.lsn,
    type: e.type,
    payloads: e.payloads.map(text),
    ops: e.ops.map((o) => (o.type === 'deleteRange' ? ['r', text(o.start), text(o.end)] : o.type === 'put' ? ['p', text(o.key), text(o.value)] : ['d', text(o.key)])),
  })

async function logOf(p: Partition): Promise<string[]> {
  const out: string[] = []
  for await (const e of p.read()) out.push(show(e))
  return out
}

/** Sends the source's records the replica lacks, alternately as decoded entries and as raw log entries. */
async function catchUp(source: Partition, replica: Partition, raw: boolean): Promise<void> {
  for await (const batch of source.readBatches({ fromLsn: replica.lastLsn + 1 })) {
    const records = raw
      ? batch.map((e) => ({ lsn: e.lsn, type: e.type, payload: e.type === stateRecordType ? encodeStateBatch({ ops: e.ops, payloads: e.payloads }) : e.payload }))
      : batch
    assert.equal(await replica.appendReplicated(records, { sourceLogId: source.logId }), batch.at(-1)!.lsn)
  }
}

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f')
const word = fc.stringMatching(/^[a-z]{1,6}$/)
const payload = fc.oneof(
  fc.tuple(key, word).map(([k, v]) => `set ${k} ${v}`),
  key.map((k) => `del ${k}`),
  fc.tuple(key, key).map((pair) => `wipe ${pair.sort().join(' ')}`),
  word.map((w) => `note ${w}`),
)
type Step =
  | { kind: 'put'; k: string; v: string }
  | { kind: 'delete'; k: string }
  | { kind: 'deleteRange'; a: string; b: string }
  | { kind: 'append'; payloads: string[] }
  | { kind: 'write'; payloads: string[]; k: string; v: string }
  | { kind: 'flush' }
  | { kind: 'catchUp'; raw: boolean }
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), k: key, v: word }),
  fc.record({ kind: fc.constant('delete' as const), k: key }),
  fc.record({ kind: fc.constant('deleteRange' as const), a: key, b: key }),
  fc.record({ kind: fc.constant('append' as const), payloads: fc.array(payload, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('write' as const), payloads: fc.array(payload, { maxLength: 3 }), k: key, v: word }),
  fc.record({ kind: fc.constant('flush' as const) }),
  fc.record({ kind: fc.constant('catchUp' as const), raw: fc.boolean() }),
)

async function run(source: Partition, s: Step): Promise<void> {
  switch (s.kind) {
    case 'put':
      return void (await source.put(s.k, s.v))
    case 'delete':
      return void (await source.delete(s.k))
    case 'deleteRange':
      return void (await source.deleteRange(...([s.a, s.b].sort() as [string, string])))
    case 'append':
      return void (await source.append(s.payloads))
    case 'write':
      return void (await source.write({ payloads: s.payloads, ops: [{ type: 'put', key: s.k, value: s.v }] }))
    case 'flush':
      return await source.flush()
    case 'catchUp':
      return
  }
}

test('a replica fed the source records by appendReplicated holds the same log and state (random writes with a reducer)', async () => {
  await assertProperty(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
      const sourceStore = await Store.open('/source', { fs: new MemoryFileSystem(), reducer, memtableBytesMax: 2048 })
      const replicaStore = await Store.open('/replica', { fs: new MemoryFileSystem(), reducer: refuse, memtableBytesMax: 2048 })
      try {
        const source = await sourceStore.ensurePartition('p')
        let replica = await replicaStore.ensurePartition('p')
        for (const s of steps) {
          await run(source, s)
          if (s.kind === 'catchUp') await catchUp(source, replica, s.raw)
          if (s.kind === 'flush') await replica.flush()
        }
        await catchUp(source, replica, false)
        assert.equal(replica.lastLsn, source.lastLsn)
        assert.equal(replica.appliedLsn, source.appliedLsn)
        assert.deepEqual(await scanAll(replica), await scanAll(source), 'same state')
        assert.deepEqual(await logOf(replica), await logOf(source), 'same log')
        // And the same after the replica replays its own log.
        await replicaStore.close()
        const reopened = await Store.open('/replica', { fs: replicaStore.fs, reducer: refuse })
        try {
          replica = await reopened.partition('p')
          assert.deepEqual(await scanAll(replica), await scanAll(source), 'same state after replay')
        } finally {
          await reopened.close()
        }
      } finally {
        await sourceStore.close()
        await replicaStore.close()
      }
    }),
    { numRuns: Number(process.env.CAIRN_MODEL_RUNS ?? 60) },
  )
})

test('a gap, a duplicate or LSNs that are not dense are refused (LSN_MISMATCH) and nothing is written', async () => {
  const sourceStore = await Store.open('/source', { fs: new MemoryFileSystem(), reducer })
  const replicaStore = await Store.open('/replica', { fs: new MemoryFileSystem() })
  try {
    const source = await sourceStore.ensurePartition('p')
    const replica = await replicaStore.ensurePartition('p')
    await source.append(['set a 1', 'set b 2', 'set c 3', 'del a', 'set d 4', 'set e 5'])
    const entries: PartitionEntry[] = []
    for await (const e of source.read()) entries.push(e)
    await replica.appendReplicated(entries.slice(0, 3))
    const before = { lastLsn: replica.lastLsn, state: await scanAll(replica), log: await logOf(replica) }
    const attempts: Array<[string, PartitionEntry[]]> = [
      ['a duplicate', entries.slice(2, 4)],
      ['an old batch', entries.slice(0, 3)],
      ['a gap', entries.slice(4, 6)],
      ['not dense', [entries[3]!, entries[5]!]],
      ['out of order', [entries[4]!, entries[3]!]],
    ]
    for (const [what, records] of attempts) {
      await assert.rejects(replica.appendReplicated(records), isCode('LSN_MISMATCH'), what)
      assert.equal(replica.lastLsn, before.lastLsn, `${what}: nothing logged`)
    }
    await assert.rejects(replica.appendReplicated([]), isCode('INVALID_ARGUMENT'))
    assert.deepEqual(await scanAll(replica), before.state)
    assert.deepEqual(await logOf(replica), before.log)
    // The right next batch still goes in.
    assert.equal(await replica.appendReplicated(entries.slice(3)), 6)
    assert.deepEqual(await scanAll(replica), await scanAll(source))
  } finally {
    await sourceStore.close()
    await replicaStore.close()
  }
})

test('two replicated appends racing for the same LSN: one is logged, the other refused', async () => {
  const sourceStore = await Store.open('/source', { fs: new MemoryFileSystem(), reducer })
  const replicaStore = await Store.open('/replica', { fs: new MemoryFileSystem() })
  try {
    const source = await sourceStore.ensurePartition('p')
    const replica = await replicaStore.ensurePartition('p')
    await source.append(['set a 1', 'set b 2'])
    const entries: PartitionEntry[] = []
    for await (const e of source.read()) entries.push(e)
    const results = await Promise.allSettled([replica.appendReplicated(entries), replica.appendReplicated(entries)])
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
    assert.ok(isCode('LSN_MISMATCH')((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason))
    assert.equal(replica.lastLsn, 2)
    assert.deepEqual(await logOf(replica), await logOf(source))
  } finally {
    await sourceStore.close()
    await replicaStore.close()
  }
})

test('a replicated record whose type is not a byte is INVALID_ARGUMENT, nothing written, and the partition goes on', async () => {
  const store = await Store.open('/replica', { fs: new MemoryFileSystem() })
  try {
    const p = await store.ensurePartition('p')
    for (const type of [256, -1, 1.5]) {
      await assert.rejects(p.appendReplicated([{ lsn: 1, type, payload: new Uint8Array([1]) }]), isCode('INVALID_ARGUMENT'), String(type))
    }
    assert.equal(p.lastLsn, 0)
    assert.equal(await p.put('a', '1'), 1)
  } finally {
    await store.close()
  }
})
