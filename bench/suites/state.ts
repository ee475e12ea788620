/**
 * State engine benches (issue 3 targets), written against the partition state API that is being
 * built: `partition.write({ ops })`, `partition.put`, `partition.get`, `partition.scan`, and
 * `Store.open(dir, { memtableBytesMax, blockCacheBytesMax })`. Each suite skips with a printed
 * reason while `partition.write` is not a function; CAIRN_BENCH_PEERS_ONLY=1 runs the peers anyway.
 *
 * Keys are 16 bytes, pseudo-random but derived from an index (so reads can find them), values
 * 100 bytes.
 */
import { type CairnStateApi, hasStateApi, openCairn } from '../cairn.js'
import {
  type BenchSystem,
  benchRoundSeconds,
  benchRounds,
  benchWriters,
  type CaseResult,
  diskUsage,
  finishCase,
  interleaved,
  maybeGc,
  processWriteBytes,
  type Row,
  round,
  rowFromLoop,
  skippedCase,
  type Suite,
  type SuiteContext,
  timedLoop,
  timeIt,
  tempDir,
  removeDir,
  valueFor,
  withTempDir,
} from '../harness.js'
import { type Entry, type Peer, type PeerFactory, peers } from '../peers/index.js'

const keyBytes = 16
const valueBytes = 100
const batchSize = 1000
const stateKeys = Number(process.env.CAIRN_BENCH_STATE_KEYS ?? 500_000)
const ampKeys = Number(process.env.CAIRN_BENCH_AMP_KEYS ?? 100_000)
const peersOnly = process.env.CAIRN_BENCH_PEERS_ONLY === '1'

/** 16 pseudo-random bytes for index `i` (a 32-bit mix run four times; a bijection per word). */
export function keyFor(i: number): Uint8Array {
  const k = new Uint8Array(keyBytes)
  const dv = new DataView(k.buffer)
  for (let w = 0; w < 4; w++) {
    let x = (i + Math.imul(w + 1, 0x9e3779b9)) | 0
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
    x ^= x >>> 16
    dv.setUint32(w * 4, w === 3 ? i >>> 0 : x >>> 0)
  }
  // The last word is the index itself, so keys are unique; the first three scatter them.
  return k
}

function randomKey(): Uint8Array {
  return keyFor(Math.floor(Math.random() * 2 ** 31))
}

async function stateApiMissing(ctx: SuiteContext, suite: string): Promise<string | undefined> {
  const present = await withTempDir('probe', (dir) => hasStateApi(dir))
  if (present) return undefined
  const reason = 'cairn has no state API yet (partition.write is not a function): issue 3 not landed'
  ctx.log(`  SKIP ${suite}: ${reason}${peersOnly ? ' — running peers only (CAIRN_BENCH_PEERS_ONLY=1)' : ' (set CAIRN_BENCH_PEERS_ONLY=1 to run the peers)'}`)
  return reason
}

/** Runs `body` against cairn (when its state API exists) and every peer, each in a fresh dir. */
async function forEachSystem(
  ctx: SuiteContext,
  label: string,
  withCairn: boolean,
  cairnBody: ((dir: string) => Promise<Row[]>) | undefined,
  peerBody: (dir: string, factory: ReturnType<typeof peers>[number]) => Promise<Row[]>,
): Promise<Row[]> {
  const rows: Row[] = []
  if (withCairn && cairnBody) {
    ctx.log(`  cairn: ${label}`)
    rows.push(...(await withTempDir(`cairn-${label}`, cairnBody)))
    maybeGc()
  }
  for (const factory of peers()) {
    ctx.log(`  ${factory.name}: ${label}`)
    rows.push(...(await withTempDir(`${factory.name}-${label}`, (dir) => peerBody(dir, factory))))
    maybeGc()
  }
  return rows
}

function randomBatch(value: Uint8Array): Entry[] {
  return Array.from({ length: batchSize }, () => [randomKey(), value] as Entry)
}

function opsOf(entries: readonly Entry[]): Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> {
  return entries.map(([key, value]) => ({ type: 'put' as const, key, value }))
}

/** A state system of an interleaved case: cairn or a peer, open in its own temp dir. */
function writeSystem(label: string, cairnRound: ((s: CairnStateApi, seconds: number) => Promise<Row>) | undefined, factory?: PeerFactory, peerRound?: (p: Peer, seconds: number) => Promise<Row>): () => Promise<BenchSystem> {
  return async () => {
    if (factory === undefined) {
      const dir = await tempDir(`cairn-${label}`)
      const c = await openCairn(dir, { durability: 'sync' })
      const s = c.partition as unknown as CairnStateApi
      return {
        name: 'cairn',
        kind: 'cairn',
        round: (seconds) => cairnRound!(s, seconds),
        close: async () => {
          await c.close()
          await removeDir(dir)
        },
      }
    }
    const dir = await tempDir(`${factory.name}-${label}`)
    const peer = await factory.open(dir, { mode: 'kv' })
    return {
      name: peer.name,
      kind: 'peer',
      round: (seconds) => peerRound!(peer, seconds),
      close: async () => {
        await peer.close()
        await removeDir(dir)
      },
    }
  }
}

const stateWriteSuite: Suite = {
  id: 'state-write',
  groups: ['state'],
  description: 'durable random puts: batches of 1,000, and N concurrent single puts',
  async run(ctx): Promise<CaseResult[]> {
    const missing = await stateApiMissing(ctx, 'state-write')
    const names = ['random durable puts, batches of 1,000', `${benchWriters} concurrent single durable puts`]
    if (missing) return names.map((n) => skippedCase('state-write', n, missing))
    const value = valueFor(0, valueBytes)
    const params = { keyBytes, valueBytes, rounds: benchRounds, roundSeconds: benchRoundSeconds }
    ctx.log(' case: batches of 1,000')
    const batchRows = await interleaved(ctx.log, 'recordsPerSec', [
      writeSystem('batches', async (s, seconds) =>
        rowFromLoop('cairn', 'cairn', await timedLoop(seconds, 1, () => s.write({ ops: opsOf(randomBatch(value)) })), batchSize, keyBytes + valueBytes),
      ),
      ...peers().map((f) =>
        writeSystem('batches', undefined, f, async (peer, seconds) =>
          rowFromLoop(peer.name, 'peer', await timedLoop(seconds, 1, () => peer.durablePutBatch(randomBatch(value))), batchSize, keyBytes + valueBytes),
        ),
      ),
    ])
    ctx.log(` case: ${benchWriters} concurrent puts`)
    const concurrentRows = await interleaved(ctx.log, 'opsPerSec', [
      writeSystem('concurrent', async (s, seconds) =>
        rowFromLoop('cairn', 'cairn', await timedLoop(seconds, benchWriters, () => s.put(randomKey(), value)), 1, keyBytes + valueBytes),
      ),
      ...peers().map((f) =>
        writeSystem('concurrent', undefined, f, async (peer, seconds) => {
          const row = rowFromLoop(peer.name, 'peer', await timedLoop(seconds, benchWriters, () => peer.durablePut(randomKey(), value)), 1, keyBytes + valueBytes)
          if (!peer.concurrentWrites) row.note = 'synchronous API: the writers run one at a time'
          return row
        }),
      ),
    ])
    return [
      finishCase({
        suite: 'state-write',
        name: names[0]!,
        params: { ...params, batch: batchSize },
        metric: 'recordsPerSec',
        rows: batchRows,
        notes: [],
        targets: [{ description: 'durable random puts in batches of 1,000 >= 2.0x best peer', metric: 'recordsPerSec', factorOfBestPeer: 2 }],
      }),
      finishCase({
        suite: 'state-write',
        name: names[1]!,
        params: { ...params, writers: benchWriters },
        metric: 'opsPerSec',
        rows: concurrentRows,
        notes: [],
        targets: [{ description: `${benchWriters} concurrent single durable puts >= 1.5x best peer`, metric: 'opsPerSec', factorOfBestPeer: 1.5 }],
      }),
    ]
  },
}

interface ReadSystem {
  get(key: Uint8Array): Promise<Uint8Array | undefined> | Uint8Array | undefined
  scanAll(): Promise<number>
  close(): Promise<void>
}

/** A scan is repeated until at least this long has passed, so one round is not a blip. */
const scanSecondsMin = 2

const stateReadSuite: Suite = {
  id: 'state-read',
  groups: ['state'],
  description: 'random point reads (working set in cache, and 10x the cache) and a full range scan',
  async run(ctx): Promise<CaseResult[]> {
    const missing = await stateApiMissing(ctx, 'state-read')
    const names = ['random point reads, working set in cache', 'random point reads, working set 10x the cache', 'range scan, all entries']
    if (missing) return names.map((n) => skippedCase('state-read', n, missing))
    const n = stateKeys
    const dataBytes = n * (keyBytes + valueBytes)
    const bigCache = Math.max(64 * 2 ** 20, dataBytes * 2)
    const smallCache = Math.max(1 << 20, Math.floor(dataBytes / 10))
    const value = valueFor(0, valueBytes)
    const notes: string[] = []
    const load = async (put: (entries: Entry[]) => Promise<unknown>): Promise<number> =>
      await timeIt(async () => {
        for (let i = 0; i < n; i += 10_000) {
          const chunk: Entry[] = []
          for (let j = i; j < Math.min(n, i + 10_000); j++) chunk.push([keyFor(j), value])
          await put(chunk)
        }
      })
    // Load every system once, each in its own dir; the cases reopen them with the cache size.
    const dirs: Array<{ name: string; kind: Row['kind']; dir: string; open: (dir: string, cacheBytes: number) => Promise<ReadSystem> }> = []
    try {
      ctx.log('  cairn: load')
      const cairnDir = await tempDir('cairn-state-read')
      dirs.push({
        name: 'cairn',
        kind: 'cairn',
        dir: cairnDir,
        open: async (dir, cacheBytes) => {
          const c = await openCairn(dir, { blockCacheBytesMax: cacheBytes })
          const s = c.partition as unknown as CairnStateApi
          return {
            get: (k) => s.get(k),
            scanAll: async () => {
              let count = 0
              for await (const _ of s.scan({})) count++
              return count
            },
            close: () => c.close(),
          }
        },
      })
      {
        const c = await openCairn(cairnDir, { durability: 'none', blockCacheBytesMax: bigCache })
        try {
          const s = c.partition as unknown as CairnStateApi
          notes.push(`cairn load: ${round(await load((chunk) => s.write({ ops: opsOf(chunk) })), 2)} s`)
          // Measure a settled tree: memtable flushed and no compaction due or running.
          await c.partition.compact()
        } finally {
          await c.close()
        }
      }
      maybeGc()
      for (const factory of peers()) {
        ctx.log(`  ${factory.name}: load`)
        const dir = await tempDir(`${factory.name}-state-read`)
        dirs.push({
          name: factory.name,
          kind: 'peer',
          dir,
          open: async (d, cacheBytes) => {
            const peer: Peer = await factory.open(d, { mode: 'kv', cacheBytes })
            return { get: (k) => peer.get(k), scanAll: () => peer.scan({}, () => undefined), close: () => peer.close() }
          },
        })
        const p = await factory.open(dir, { mode: 'kv', cacheBytes: bigCache })
        try {
          notes.push(`${factory.name} load: ${round(await load((chunk) => p.load(chunk)), 2)} s`)
        } finally {
          await p.close()
        }
        maybeGc()
      }
      const reader = (cacheBytes: number, kind: 'point' | 'scan', warm: boolean) =>
        dirs.map(
          (d) => async (): Promise<BenchSystem> => {
            const s = await d.open(d.dir, cacheBytes)
            if (warm) {
              // A full scan brings the working set into the cache (a second of random reads
              // touched only part of it, so the "in cache" case measured misses), then random reads.
              await s.scanAll()
              await timedLoop(0.5, 1, () => s.get(keyFor(Math.floor(Math.random() * n))))
            }
            return {
              name: d.name,
              kind: d.kind,
              async round(seconds) {
                if (kind === 'point') {
                  let misses = 0
                  const r = await timedLoop(seconds, 1, async () => {
                    if ((await s.get(keyFor(Math.floor(Math.random() * n)))) === undefined) misses++
                  })
                  if (misses > 0) notes.push(`${d.name}: ${misses} point reads found nothing`)
                  return rowFromLoop(d.name, d.kind, r)
                }
                let count = 0
                let scans = 0
                const t = await timeIt(async () => {
                  const t0 = performance.now()
                  while (performance.now() - t0 < Math.max(seconds, scanSecondsMin) * 1000) {
                    const seen = await s.scanAll()
                    if (seen !== n) notes.push(`${d.name}: scan saw ${seen} entries, expected ${n}`)
                    count += seen
                    scans++
                  }
                })
                return { system: d.name, kind: d.kind, ops: count, seconds: round(t, 3), opsPerSec: round(count / t, 1), recordsPerSec: round(count / t, 1), mbPerSec: round((count * (keyBytes + valueBytes)) / t / 1e6, 2), extra: { scans } }
              },
              close: () => s.close(),
            }
          },
        )
      ctx.log(' case: point reads in cache')
      const inCache = await interleaved(ctx.log, 'opsPerSec', reader(bigCache, 'point', true))
      ctx.log(' case: scans')
      const scans = await interleaved(ctx.log, 'recordsPerSec', reader(bigCache, 'scan', false))
      ctx.log(' case: point reads, working set 10x the cache')
      const outCache = await interleaved(ctx.log, 'opsPerSec', reader(smallCache, 'point', false))
      const params = { keys: n, keyBytes, valueBytes, dataBytes, rounds: benchRounds, roundSeconds: benchRoundSeconds }
      notes.push("lmdb has no cache of its own (mmap): its reads are served by the OS page cache in both cases; so are every engine's cache misses here, since the data set fits in RAM")
      return [
        finishCase({
          suite: 'state-read',
          name: names[0]!,
          params: { ...params, cacheBytes: bigCache },
          metric: 'opsPerSec',
          rows: inCache,
          notes,
          targets: [
            { description: 'point reads in cache >= classic-level', metric: 'opsPerSec', peer: 'classic-level', factor: 1 },
            { description: 'point reads in cache >= 0.8x lmdb', metric: 'opsPerSec', peer: 'lmdb', factor: 0.8 },
          ],
        }),
        finishCase({
          suite: 'state-read',
          name: names[1]!,
          params: { ...params, cacheBytes: smallCache },
          metric: 'opsPerSec',
          rows: outCache,
          notes: [],
          targets: [{ description: 'point reads, working set 10x the cache >= 1.0x better-sqlite3', metric: 'opsPerSec', peer: 'better-sqlite3', factor: 1 }],
        }),
        finishCase({
          suite: 'state-read',
          name: names[2]!,
          params: { ...params, scanSecondsMin },
          metric: 'recordsPerSec',
          rows: scans,
          notes: [`each round repeats full scans for at least ${scanSecondsMin} s`],
          targets: [{ description: 'range scan >= 2,000,000 entries/s', metric: 'recordsPerSec', absolute: 2_000_000 }],
        }),
      ]
    } finally {
      for (const d of dirs) await removeDir(d.dir)
    }
  },
}

const stateAmpSuite: Suite = {
  id: 'state-amp',
  groups: ['state'],
  description: 'write and space amplification after a 10x overwrite workload',
  async run(ctx): Promise<CaseResult[]> {
    const missing = await stateApiMissing(ctx, 'state-amp')
    const name = 'write / space amplification, 10x overwrite'
    if (missing && !peersOnly) return [skippedCase('state-amp', name, missing)]
    const n = ampKeys
    const rounds = 10
    const value = valueFor(0, valueBytes)
    const userBytes = (rounds + 1) * n * (keyBytes + valueBytes)
    const liveBytes = n * (keyBytes + valueBytes)
    const workload = async (put: (entries: Entry[]) => Promise<unknown>): Promise<number> => {
      const order = Array.from({ length: n }, (_, i) => i)
      return await timeIt(async () => {
        for (let r = 0; r <= rounds; r++) {
          // Round 0 loads, then 10 overwrites in a fresh random order each.
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(Math.random() * (i + 1))
            ;[order[i], order[j]] = [order[j]!, order[i]!]
          }
          for (let i = 0; i < n; i += batchSize) {
            await put(order.slice(i, i + batchSize).map((k) => [keyFor(k), value] as Entry))
          }
        }
      })
    }
    const rows = await forEachSystem(
      ctx,
      'amp',
      !missing,
      async (dir) => {
        const before = await processWriteBytes()
        const c = await openCairn(dir, { durability: 'sync', countIo: true })
        let t: number
        const engine: Record<string, number> = {}
        try {
          const s = c.partition as unknown as CairnStateApi
          t = await workload((chunk) => s.write({ ops: opsOf(chunk) }))
          // The state engine's own figures, apart from the log (kept on purpose: it is the
          // user's event log; trimming it is the snapshot feature's job).
          const st = c.partition.stateStats()
          engine['state write amp'] = round((st.bytesWrittenFlush + st.bytesWrittenCompaction) / st.bytesApplied, 2)
          engine['state space amp'] = round(st.tableBytes / liveBytes, 2)
          engine['log MB'] = round(c.partition.info().logBytes / 1e6, 1)
          if (c.io) engine['fs-seam write amp'] = round(c.io.writeBytes / userBytes, 2)
        } finally {
          await c.close()
        }
        const row = ampRow('cairn', 'cairn', t, before, await processWriteBytes(), diskUsage(dir))
        Object.assign(row.extra!, engine)
        return [row]
      },
      async (dir, factory) => {
        const before = await processWriteBytes()
        const peer = await factory.open(dir, { mode: 'kv' })
        let t: number
        try {
          t = await workload((chunk) => peer.durablePutBatch(chunk))
        } finally {
          await peer.close()
        }
        return [ampRow(factory.name, 'peer', t, before, await processWriteBytes(), diskUsage(dir))]
      },
    )
    function ampRow(system: string, kind: Row['kind'], seconds: number, before: number | undefined, after: number | undefined, du: number | undefined): Row {
      const ops = (rounds + 1) * n
      const extra: Record<string, number> = {}
      if (before !== undefined && after !== undefined) extra['write amp'] = round((after - before) / userBytes, 2)
      if (du !== undefined) extra['space amp'] = round(du / liveBytes, 2)
      return { system, kind, ops, seconds: round(seconds, 3), opsPerSec: round(ops / seconds, 1), extra }
    }
    return [
      finishCase({
        suite: 'state-amp',
        name,
        params: { keys: n, rounds, keyBytes, valueBytes, batch: batchSize, userBytes, liveBytes },
        metric: 'opsPerSec',
        rows,
        notes: [
          'write amp = bytes the temp dir\'s block device wrote during the run (/sys/class/block/<dev>/stat; /proc/self/io write_bytes if unreadable, which overcounts overwrites of preallocated pages) / user bytes put (key + value, load + 10 overwrites)',
          'space amp = allocated bytes of the directory after close (du -B1) / live bytes; for cairn this includes the log unless the engine trims it',
          'cairn only: state write amp = (flush + compaction bytes) / key+value bytes applied; state space amp = table bytes / live bytes; log MB = log bytes (data + preallocated zeros) retained; fs-seam write amp = bytes passed to write() on file handles (log, log preallocation, tables; not manifests) / user bytes',
          ...(missing ? [`cairn skipped: ${missing}`] : []),
        ],
      }),
    ]
  },
}

export const stateSuites: Suite[] = [stateWriteSuite, stateReadSuite, stateAmpSuite]
