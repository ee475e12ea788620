/**
 * The stream applier's chunk reconciliation, fed synthetic pgoutput messages: a transaction that
 * the stream applied before a chunk's low watermark but that the chunk's snapshot did not see
 * (Postgres made its commit visible late) counts as inside the window; when the transactions
 * to check are forgotten, the chunk is read again rather than written.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newMeta } from '../../src/ingest/postgres/ingest-status.js'
import { encodeKey } from '../../src/ingest/postgres/key-encoding.js'
import type { PgoutputMessage } from '../../src/ingest/postgres/pgoutput.js'
import { rowJson } from '../../src/ingest/postgres/row-encoding.js'
import type { SourceTable } from '../../src/ingest/postgres/source.js'
import { type ChunkRows, recentTxnsMax, StreamApplier } from '../../src/ingest/postgres/stream-applier.js'
import { MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

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
const row = (id: number, v: string) => ({ key: key(id), value: rowJson(table.columns, [String(id), v]) })

async function setup() {
  const store = await Store.open('/data', { fs: new MemoryFileSystem() })
  const partition = await store.ensurePartition('pg')
  const applier = new StreamApplier({
    partition,
    meta: newMeta('s', 'p'),
    prefix: 'cairn:test',
    describe: async () => table,
    fetchRow: async () => undefined,
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
