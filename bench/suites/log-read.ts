/**
 * Sequential log read throughput: N 100-byte records are written (cairn with durability 'none'
 * in 10,000-record batches, peers by bulk load), the store is closed and reopened, and one full
 * pass is timed. The page cache is warm for every system (the data was just written).
 */
import { openCairn } from '../cairn.js'
import {
  benchRecords,
  type CaseResult,
  finishCase,
  maybeGc,
  type Row,
  round,
  type Suite,
  timeIt,
  u64Key,
  valueFor,
  withTempDir,
} from '../harness.js'
import { type Entry, peers } from '../peers/index.js'

const recordBytes = 100
const loadChunk = 10_000

function readRow(system: string, kind: Row['kind'], records: number, bytes: number, seconds: number): Row {
  return {
    system,
    kind,
    ops: records,
    seconds: round(seconds, 3),
    opsPerSec: round(records / seconds, 1),
    recordsPerSec: round(records / seconds, 1),
    mbPerSec: round(bytes / seconds / 1e6, 2),
  }
}

export const logReadSuite: Suite = {
  id: 'log-read',
  groups: ['log'],
  description: 'sequential read of N 100-byte records after reopen',
  async run(ctx): Promise<CaseResult[]> {
    const n = benchRecords
    const value = valueFor(0, recordBytes)
    const batchRows: Row[] = []
    const entryRows: Row[] = []
    const notes: string[] = []
    ctx.log(`  cairn: writing ${n.toLocaleString('en-US')} records`)
    await withTempDir('cairn-read', async (dir) => {
      const w = await openCairn(dir, { durability: 'none' })
      try {
        const batch = Array.from({ length: loadChunk }, () => value)
        const setup = await timeIt(async () => {
          for (let i = 0; i < n; i += loadChunk) await w.partition.append(batch.slice(0, Math.min(loadChunk, n - i)))
        })
        notes.push(`cairn setup: ${n} records appended in ${round(setup, 2)} s (durability 'none', ${loadChunk}-record batches)`)
      } finally {
        await w.close()
      }
      maybeGc()
      const c = await openCairn(dir)
      try {
        let count = 0
        let bytes = 0
        const t1 = await timeIt(async () => {
          for await (const b of c.partition.readBatches({ fromLsn: 1 })) {
            count += b.length
            for (const e of b) bytes += e.payload.length
          }
        })
        if (count !== n) notes.push(`cairn readBatches saw ${count} records, expected ${n}`)
        batchRows.push(readRow('cairn', 'cairn', count, bytes, t1))
        maybeGc()
        count = 0
        bytes = 0
        const t2 = await timeIt(async () => {
          for await (const e of c.partition.read()) {
            count++
            bytes += e.payload.length
          }
        })
        if (count !== n) notes.push(`cairn partition.read saw ${count} records, expected ${n}`)
        entryRows.push(readRow('cairn', 'cairn', count, bytes, t2))
      } finally {
        await c.close()
      }
    })
    maybeGc()
    for (const factory of peers()) {
      ctx.log(`  ${factory.name}: loading`)
      await withTempDir(`${factory.name}-read`, async (dir) => {
        let peer = await factory.open(dir, { mode: 'log' })
        try {
          const setup = await timeIt(async () => {
            for (let i = 0; i < n; i += loadChunk) {
              const chunk: Entry[] = []
              for (let j = i; j < Math.min(n, i + loadChunk); j++) chunk.push([u64Key(j + 1), value])
              await peer.load(chunk)
            }
          })
          notes.push(`${factory.name} setup: ${round(setup, 2)} s`)
        } finally {
          await peer.close()
        }
        maybeGc()
        peer = await factory.open(dir, { mode: 'log' })
        try {
          let count = 0
          let bytes = 0
          const t = await timeIt(() =>
            peer.scan({}, (_k, v) => {
              count++
              bytes += v.length
            }),
          )
          if (count !== n) notes.push(`${factory.name} scan saw ${count} records, expected ${n}`)
          const row = readRow(peer.name, 'peer', count, bytes, t)
          batchRows.push(row)
          entryRows.push({ ...row })
        } finally {
          await peer.close()
        }
      })
      maybeGc()
    }
    const params = { records: n, recordBytes, cache: 'warm (just written)' }
    const peerHow = 'peers: lmdb getRange (sync iterator), classic-level iterator nextv(1000), better-sqlite3 SELECT ... ORDER BY rowid (iterate)'
    return [
      finishCase({
        suite: 'log-read',
        name: 'sequential read, log.readBatches(1)',
        params,
        metric: 'recordsPerSec',
        rows: batchRows,
        notes: [...notes, peerHow],
        targets: [{ description: 'sequential log read >= 1,000,000 records/s', metric: 'recordsPerSec', absolute: 1_000_000 }],
      }),
      finishCase({
        suite: 'log-read',
        name: 'sequential read, partition.read() entry by entry',
        params,
        metric: 'recordsPerSec',
        rows: entryRows,
        notes: [peerHow, 'peer figures are the same pass as the table above'],
        targets: [{ description: 'sequential log read >= 1,000,000 records/s', metric: 'recordsPerSec', absolute: 1_000_000 }],
      }),
    ]
  },
}
