/**
 * Durable appends of 100-byte records (issue 2, section 8; issue 12): one writer awaiting each
 * append, N (64) concurrent writers each awaiting its own append in a loop, and an open-loop
 * case (appends arriving at a fixed rate whatever the engine does: achieved rate and latency
 * from each append's scheduled arrival). cairn appends under the default 'sync' durability;
 * peers do the equivalent durable single-record write keyed by an increasing 8-byte id. Every
 * case runs its systems interleaved round by round and reports medians over rounds.
 */
import { openCairn } from '../cairn.js'
import {
  type BenchSystem,
  benchRoundSeconds,
  benchRounds,
  benchWriters,
  type CaseResult,
  finishCase,
  interleaved,
  newHistogram,
  percentiles,
  removeDir,
  round,
  rowFromLoop,
  type Suite,
  tempDir,
  timedLoop,
  u64Key,
  valueFor,
} from '../harness.js'
import { type PeerFactory, peers } from '../peers/index.js'
import { fsyncLimitName, fsyncLimitSystem } from './fsync-limit.js'

const recordBytes = 100
/** Offered rates of the open-loop case, appends per second. */
const openLoopRates = [50_000, 100_000, 200_000]
/** Appends in flight beyond which the open-loop generator drops arrivals (counted, not issued). */
const openLoopInFlightMax = 100_000

function cairnAppender(writers: number): () => Promise<BenchSystem> {
  return async () => {
    const value = valueFor(0, recordBytes)
    const dir = await tempDir('cairn-append')
    const c = await openCairn(dir, { durability: 'sync', countIo: true })
    return {
      name: 'cairn',
      kind: 'cairn',
      async round(seconds) {
        const syncs0 = c.io!.syncs
        const lsn0 = c.partition.lastLsn
        const r = await timedLoop(seconds, writers, () => c.partition.append([value]))
        const row = rowFromLoop('cairn', 'cairn', r, 1, recordBytes)
        const syncs = c.io!.syncs - syncs0
        if (syncs > 0) row.extra = { 'fsyncs/s': round(syncs / r.seconds, 0), 'records/fsync': round(r.ops / syncs, 2) }
        if (c.partition.lastLsn - lsn0 !== r.ops) row.note = `lastLsn moved ${c.partition.lastLsn - lsn0}, ops ${r.ops}`
        return row
      },
      async close() {
        await c.close()
        await removeDir(dir)
      },
    }
  }
}

function peerAppender(factory: PeerFactory, writers: number): () => Promise<BenchSystem> {
  return async () => {
    const value = valueFor(0, recordBytes)
    const dir = await tempDir(`${factory.name}-append`)
    const peer = await factory.open(dir, { mode: 'log' })
    let next = 0
    return {
      name: peer.name,
      kind: 'peer',
      async round(seconds) {
        const base = next
        const r = await timedLoop(seconds, writers, (i) => peer.durablePut(u64Key(base + i + 1), value))
        next = base + r.ops
        const row = rowFromLoop(peer.name, 'peer', r, 1, recordBytes)
        if (writers > 1 && !peer.concurrentWrites) row.note = 'synchronous API: the writers run one at a time (each blocks the event loop for its fsync)'
        return row
      },
      async close() {
        await peer.close()
        await removeDir(dir)
      },
    }
  }
}

/**
 * Issues `append()` at `rate` per second for `seconds` without waiting for earlier ones (an
 * open loop: arrivals do not slow down when the engine does). Latency runs from each append's
 * scheduled arrival to its acknowledgement, so a stalled generator is charged, not hidden.
 */
export async function openLoop(
  rate: number,
  seconds: number,
  append: () => Promise<unknown>,
): Promise<{ ops: number; seconds: number; p50Us: number; p99Us: number; dropped: number }> {
  const h = newHistogram()
  const total = Math.floor(rate * seconds)
  const start = performance.now()
  let issued = 0
  let done = 0
  let dropped = 0
  let inFlight = 0
  let last = start
  return await new Promise((resolve, reject) => {
    const finish = (): void => {
      if (issued === total && inFlight === 0) resolve({ ops: done, seconds: (last - start) / 1000, ...percentiles(h), dropped })
    }
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate))
      while (issued < due) {
        const scheduled = start + (issued * 1000) / rate
        issued++
        if (inFlight >= openLoopInFlightMax) {
          dropped++
          continue
        }
        inFlight++
        append().then(() => {
          last = performance.now()
          h.record(Math.max(1, Math.round((last - scheduled) * 1e6)))
          inFlight--
          done++
          finish()
        }, reject)
      }
      if (issued < total) setImmediate(tick)
      else finish()
    }
    tick()
  })
}

function cairnOpenLoop(rate: number): () => Promise<BenchSystem> {
  return async () => {
    const value = valueFor(0, recordBytes)
    const dir = await tempDir('cairn-open-loop')
    const c = await openCairn(dir, { durability: 'sync', countIo: true })
    const name = `cairn @ ${rate / 1000}k/s offered`
    return {
      name,
      kind: rate === openLoopRates[0] ? 'cairn' : 'limit',
      async round(seconds) {
        const syncs0 = c.io!.syncs
        const r = await openLoop(rate, seconds, () => c.partition.append([value]))
        const row = rowFromLoop(name, rate === openLoopRates[0] ? 'cairn' : 'limit', r, 1, recordBytes)
        row.extra = { 'offered/s': rate, dropped: r.dropped, 'fsyncs/s': round((c.io!.syncs - syncs0) / r.seconds, 0) }
        return row
      },
      async close() {
        await c.close()
        await removeDir(dir)
      },
    }
  }
}

export const logAppendSuite: Suite = {
  id: 'log-append',
  groups: ['log'],
  description: 'durable 100-byte appends: 1 awaited writer, N concurrent awaited writers, open-loop arrivals',
  async run(ctx): Promise<CaseResult[]> {
    const results: CaseResult[] = []
    const params = { recordBytes, rounds: benchRounds, roundSeconds: benchRoundSeconds }
    const peerNote = 'peer durability: lmdb noSync:false (put resolves after flush); classic-level put {sync:true}; better-sqlite3 WAL + synchronous=FULL, autocommit INSERT'
    ctx.log(' case: 1 awaited append')
    const one = await interleaved(ctx.log, 'opsPerSec', [
      cairnAppender(1),
      ...peers().map((f) => peerAppender(f, 1)),
      fsyncLimitSystem('fdatasync'),
      fsyncLimitSystem('fdatasync-sync'),
      fsyncLimitSystem('fdatasync-sync-prealloc'),
    ])
    results.push(
      finishCase({
        suite: 'log-append',
        name: '1 writer awaiting each append',
        params: { ...params, writers: 1, keys: '8-byte increasing ids (peers)' },
        metric: 'opsPerSec',
        rows: one,
        notes: [
          'each op is one record made durable before the next starts; the limit rows are a raw write+fdatasync on a file in the same temp dir, through the thread pool (fs/promises) and blocking the event loop (sync calls), appending to a growing file or overwriting a pre-zeroed one (preallocated: what cairn\'s log does, whose fdatasync needs no journal commit of a new size)',
          peerNote,
        ],
        targets: [
          { description: 'one awaited durable append >= 1.0x better-sqlite3', metric: 'opsPerSec', peer: 'better-sqlite3', factor: 1 },
          { description: 'one awaited durable append >= 0.9x the blocking write+fdatasync', metric: 'opsPerSec', limit: fsyncLimitName('fdatasync-sync'), factor: 0.9 },
          { description: 'one awaited durable append >= 0.9x the blocking write+fdatasync into a preallocated file', metric: 'opsPerSec', limit: fsyncLimitName('fdatasync-sync-prealloc'), factor: 0.9 },
        ],
      }),
    )
    ctx.log(` case: ${benchWriters} concurrent appenders`)
    const many = await interleaved(ctx.log, 'opsPerSec', [
      cairnAppender(benchWriters),
      ...peers().map((f) => peerAppender(f, benchWriters)),
      fsyncLimitSystem('fdatasync'),
    ])
    const limitRow = many.find((r) => r.kind === 'limit')
    const cairnRow = many.find((r) => r.kind === 'cairn')
    const notes = ['ops/s = acknowledged durable single-record appends per second summed over all writers; latency is per append as seen by its writer']
    if (limitRow && cairnRow?.extra?.['fsyncs/s'] !== undefined) {
      notes.push(`group syncs: cairn ${cairnRow.extra['fsyncs/s']}/s against ${Math.round(limitRow.opsPerSec)}/s for a lone write+fdatasync (fs/promises) in the same rounds: ${round(cairnRow.extra['fsyncs/s'] / limitRow.opsPerSec, 2)}x`)
    }
    results.push(
      finishCase({
        suite: 'log-append',
        name: `${benchWriters} concurrent appenders`,
        params: { ...params, writers: benchWriters },
        metric: 'opsPerSec',
        rows: many.map((r) => (r.kind === 'limit' ? { ...r, note: 'one writer; reference only' } : r)),
        notes,
        targets: [{ description: `${benchWriters} concurrent durable appenders >= 1.5x best peer`, metric: 'opsPerSec', factorOfBestPeer: 1.5 }],
      }),
    )
    ctx.log(' case: open-loop arrivals')
    const open = await interleaved(ctx.log, 'opsPerSec', openLoopRates.map(cairnOpenLoop))
    results.push(
      finishCase({
        suite: 'log-append',
        name: 'open-loop arrivals at fixed rates',
        params: { ...params, rates: openLoopRates, inFlightMax: openLoopInFlightMax },
        metric: 'opsPerSec',
        rows: open,
        notes: [
          'ops/s = achieved acknowledged appends per second; latency from each append\'s scheduled arrival to its acknowledgement (a late generator is charged); arrivals beyond the in-flight bound are dropped and counted',
          'each rate has its own store; the rows are not peers (the ratio column compares rates)',
        ],
      }),
    )
    return results
  },
}
