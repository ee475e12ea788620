/**
 * The stream applier's chunk reconciliation, fed synthetic pgoutput messages: a transaction that
 * the stream applied before a chunk's low watermark but that the chunk's snapshot did not see
 * (Postgres made its commit visible late) counts as inside the window; when the transactions
 * to check are forgotten, the chunk is read again rather than written.
 * A change of a relation never described is a protocol defect (SOURCE_PROTOCOL, not retried).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newMeta } from '../../src/ingest/postgres/ingest-status.js'
import { encodeKey } from '../../src/ingest/postgres/key-encoding.js'
import { type PgoutputMessage, unchangedToast } from '../../src/ingest/postgres/pgoutput.js'
import { rowJson } from '../../src/ingest/postgres/row-encoding.js'
import type { SourceTable } from '../../src/ingest/postgres/source.js'
import { type ChunkRows, recentTxnsMax, StreamApplier } from '../../src/ingest/postgres/stream-applier.js'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { waitFor } from '../helpers/ingest-helpers.js'

const table: SourceTable = {
  name: 'public.t',
  oid: 1,
  columns: [
    { name: 'id', typeOid: 23, typeName: 'integer' },
    { name: 'v', typeOid: 25, typeName: 'text' },
  ],
  keyColumns: ['id'],
  replicaIdentity: 'default',
}
const relation: PgoutputMessage = {
  tag: 'relation',
  oid: 1,
  schema: 'public',
  name: 't',
  replicaIdentity: 'default',
  columns: [
    { name: 'id', typeOid: 23, key: true },
    { name: 'v', typeOid: 25, key: false },
  ],
}
const key = (id: number) => encodeKey('public.t', [{ typeOid: 23 }], [String(id)])
const row = (id: number, v: string) => ({ type: 'put' as const, key: key(id), value: rowJson(table.columns, [String(id), v]) })

async function setup(fetchRow: (table: SourceTable, key: (string | null)[]) => Promise<Record<string, unknown> | undefined> = async () => undefined) {
  const store = await Store.open('/data', { fs: new MemoryFileSystem() })
  const partition = await store.ensurePartition('pg')
  const applier = new StreamApplier({
    partition,
    meta: newMeta('s', 'p'),
    prefix: 'cairn:test',
    describe: async () => table,
    fetchRow,
    onNewTable: () => {},
    onDurable: () => {},
    pause: () => {},
    resume: () => {},
  })
  applier.addTable(table)
  let lsn = 0x1000n
  const txn = (xid: number, body: PgoutputMessage[]) => {
    lsn += 0x10n
    applier.push({ tag: 'begin', finalLsn: lsn, commitTimeMs: 0, xid }, lsn)
    for (const m of body) applier.push(m, lsn)
    const commitLsn = lsn
    lsn += 0x10n
    applier.push({ tag: 'commit', commitLsn, endLsn: lsn, commitTimeMs: 0 }, lsn)
  }
  const mark = (w: 'L' | 'H', id: string): PgoutputMessage => ({
    tag: 'message',
    transactional: true,
    lsn,
    prefix: 'cairn:test',
    content: new TextEncoder().encode(JSON.stringify({ w, id })),
  })
  const update = (id: number, v: string): PgoutputMessage => ({ tag: 'update', oid: 1, newTuple: [String(id), v] })
  return { store, partition, applier, txn, mark, update }
}

test('a transaction applied before the low watermark but unseen by the chunk snapshot wins over the chunk row', async () => {
  const { store, partition, applier, txn, mark, update } = await setup()
  applier.push(relation, 0n)
  const w = applier.openWindow('w1', 'public.t')
  txn(100, [update(1, 'stream')])
  txn(101, [mark('L', 'w1')])
  const rows: ChunkRows = { entries: [row(1, 'copy'), row(2, 'copy')], snapshot: { xmax: 102, xip: new Set([100]) }, last: true, bytes: 0, lastKey: ['2'] }
  w.rows = rows
  txn(102, [mark('H', 'w1')])
  await w.done
  assert.equal(w.retry, false)
  assert.equal(await partition.getString(key(1)), rowJson(table.columns, ['1', 'stream']))
  assert.equal(await partition.getString(key(2)), rowJson(table.columns, ['2', 'copy']))
  await applier.stop()
  await store.close()
})

test('when the unseen transactions may be older than those remembered, the chunk is not written but read again', async () => {
  const { store, partition, applier, txn, mark, update } = await setup()
  applier.push(relation, 0n)
  const w = applier.openWindow('w1', 'public.t')
  const xids: number[] = []
  for (let i = 0; i < recentTxnsMax; i++) {
    xids.push(200 + i)
    txn(200 + i, [update(3, `s${i}`)])
  }
  txn(400, [mark('L', 'w1')])
  w.rows = { entries: [row(1, 'copy')], snapshot: { xmax: 401, xip: new Set(xids) }, last: true, bytes: 0, lastKey: ['1'] }
  txn(401, [mark('H', 'w1')])
  await w.done
  assert.equal(w.retry, true)
  assert.equal(await partition.getString(key(1)), undefined)
  assert.equal(applier.progressOf('public.t')?.state, 'queued')
  await applier.stop()
  await store.close()
})

test('an unchanged TOAST value is taken from the chunk row written earlier in the same write, unless a truncate came between', async () => {
  const { store, partition, applier, txn, mark } = await setup()
  applier.push(relation, 0n)
  const w = applier.openWindow('w1', 'public.t')
  txn(100, [mark('L', 'w1')])
  w.rows = { entries: [row(5, 'big'), row(6, 'big6')], last: true, bytes: 0, lastKey: ['6'] }
  // All pushed at once: one write holds the chunk, the update that leaves v out, and a truncate.
  txn(101, [mark('H', 'w1')])
  txn(102, [{ tag: 'update', oid: 1, newTuple: ['5', unchangedToast] }])
  txn(103, [
    { tag: 'truncate', oids: [1], cascade: false },
    { tag: 'insert', oid: 1, newTuple: ['6', 'fresh'] },
  ])
  txn(104, [{ tag: 'update', oid: 1, newTuple: ['6', unchangedToast] }])
  await w.done
  await waitFor('the last update', async () => (await partition.getString(key(6))) !== undefined)
  assert.equal(await partition.getString(key(5)), undefined)
  assert.equal(await partition.getString(key(6)), rowJson(table.columns, ['6', 'fresh']))
  // Before the truncate, the update of 5 was put with the chunk's value.
  const puts: string[] = []
  for await (const e of partition.read()) {
    for (const op of e.ops) if (op.type === 'put' && Buffer.compare(Buffer.from(op.key), Buffer.from(key(5))) === 0) puts.push(new TextDecoder().decode(op.value))
  }
  assert.deepEqual(puts, [rowJson(table.columns, ['5', 'big']), rowJson(table.columns, ['5', 'big'])])
  await applier.stop()
  await store.close()
})

test('a transaction replayed over its own partial write: unchanged TOAST values with no row to take them from are asked of the source again', async () => {
  // The source now holds row 3 (1 moved to 2, then to 3, v untouched); cairn lost row 1 to the
  // partial write of this very transaction, and the source has no row 2 any more.
  const source = new Map([['3', { id: 3, v: 'big' }]])
  const { store, partition, applier, txn } = await setup(async (_t, k) => source.get(k[0]!))
  applier.push(relation, 0n)
  txn(100, [
    { tag: 'update', oid: 1, oldKind: 'K', oldTuple: ['1', null], newTuple: ['2', unchangedToast] },
    { tag: 'update', oid: 1, oldKind: 'K', oldTuple: ['2', null], newTuple: ['3', unchangedToast] },
  ])
  await waitFor('the update', async () => (await partition.getString(key(3))) !== undefined)
  assert.equal(await partition.getString(key(3)), rowJson(table.columns, ['3', 'big']))
  assert.equal(await partition.getString(key(2)), undefined)
  await applier.stop()
  await store.close()
})

test('a change of a relation the stream never described is a protocol defect: the applier fails with SOURCE_PROTOCOL', async () => {
  const { store, applier, txn } = await setup()
  txn(100, [{ tag: 'insert', oid: 99, newTuple: ['1', 'x'] }])
  await assert.rejects(applier.done, (e: unknown) => e instanceof CairnError && e.code === 'SOURCE_PROTOCOL' && /relation 99/.test(e.message))
  await applier.stop()
  await store.close()
})
