/**
 * Durable appends of 100-byte records (issue 2, section 8): one writer awaiting each append, and
 * N (64) concurrent writers each awaiting its own append in a loop. cairn appends under the
 * default 'sync' durability; peers do the equivalent durable single-record write keyed by an
 * increasing 8-byte id.
 */
import { openCairn } from '../cairn.js'
import {
  benchSeconds,
  benchWriters,
  type CaseResult,
  finishCase,
  maybeGc,
  type Row,
  round,
  rowFromLoop,
  type Suite,
  type SuiteContext,
  timedLoop,
  u64Key,
  valueFor,
  withTempDir,
} from '../harness.js'
import { peers } from '../peers/index.js'
import { measureFsyncLimit } from './fsync-limit.js'

const recordBytes = 100

async function appendCase(ctx: SuiteContext, writers: number): Promise<{ rows: Row[]; notes: string[] }> {
  const value = valueFor(0, recordBytes)
  const rows: Row[] = []
  const notes: string[] = []
  ctx.log(`  cairn (${writers} writer${writers > 1 ? 's' : ''})`)
  await withTempDir('cairn-append', async (dir) => {
    const c = await openCairn(dir, { durability: 'sync', countIo: true })
    try {
      const r = await timedLoop(benchSeconds, writers, () => c.partition.append([value]))
      const row = rowFromLoop('cairn', 'cairn', r, 1, recordBytes)
      if (c.io && c.io.syncs > 0) {
        row.extra = { 'fsyncs/s': round(c.io.syncs / r.seconds, 0), 'records/fsync': round(r.ops / c.io.syncs, 2) }
      }
      const lastLsn = c.partition.lastLsn
      if (lastLsn !== r.ops) notes.push(`cairn lastLsn ${lastLsn} != ops ${r.ops}`)
      rows.push(row)
    } finally {
      await c.close()
    }
  })
  maybeGc()
  for (const factory of peers()) {
    ctx.log(`  ${factory.name}`)
    await withTempDir(`${factory.name}-append`, async (dir) => {
      const peer = await factory.open(dir, { mode: 'log' })
      try {
        const r = await timedLoop(benchSeconds, writers, (i) => peer.durablePut(u64Key(i + 1), value))
        const row = rowFromLoop(peer.name, 'peer', r, 1, recordBytes)
        if (writers > 1 && !peer.concurrentWrites) row.note = 'synchronous API: the writers run one at a time (each blocks the event loop for its fsync)'
        rows.push(row)
      } finally {
        await peer.close()
      }
    })
    maybeGc()
  }
  return { rows, notes }
}

export const logAppendSuite: Suite = {
  id: 'log-append',
  groups: ['log'],
  description: 'durable 100-byte appends: 1 awaited writer, and N concurrent awaited writers',
  async run(ctx): Promise<CaseResult[]> {
    const results: CaseResult[] = []
    // One writer.
    ctx.log(' case: 1 awaited append')
    const one = await appendCase(ctx, 1)
    let limit = ctx.shared.get('fsync-limit')?.filter((r) => r.system.includes('fs/promises'))
    if (limit === undefined || limit.length === 0) {
      ctx.log('  fsync limit (fs/promises)')
      limit = await measureFsyncLimit(benchSeconds, ['fsync', 'fdatasync'])
    }
    results.push(
      finishCase({
        suite: 'log-append',
        name: '1 writer awaiting each append',
        params: { recordBytes, writers: 1, seconds: benchSeconds, keys: '8-byte increasing ids (peers)' },
        metric: 'opsPerSec',
        rows: [...one.rows, ...limit],
        notes: [
          ...one.notes,
          'each op is one record made durable before the next starts; the limit rows are a raw write+sync on a file in the same temp dir',
          'peer durability: lmdb noSync:false (put resolves after flush); classic-level put {sync:true}; better-sqlite3 WAL + synchronous=FULL, autocommit INSERT',
        ],
        targets: [{ description: 'one awaited durable append >= best peer', metric: 'opsPerSec', factorOfBestPeer: 1 }],
      }),
    )
    // N concurrent writers.
    ctx.log(` case: ${benchWriters} concurrent appenders`)
    const many = await appendCase(ctx, benchWriters)
    const fsyncRow = limit.find((r) => r.system.startsWith('write+fsync'))
    results.push(
      finishCase({
        suite: 'log-append',
        name: `${benchWriters} concurrent appenders`,
        params: { recordBytes, writers: benchWriters, seconds: benchSeconds },
        metric: 'opsPerSec',
        rows: [...many.rows, ...(fsyncRow ? [{ ...fsyncRow, note: 'one writer; reference only' }] : [])],
        notes: [
          ...many.notes,
          'ops/s = acknowledged durable single-record appends per second summed over all writers; latency is per append as seen by its writer',
        ],
        targets: [{ description: `${benchWriters} concurrent durable appenders >= 1.5x best peer`, metric: 'opsPerSec', factorOfBestPeer: 1.5 }],
      }),
    )
    return results
  },
}
