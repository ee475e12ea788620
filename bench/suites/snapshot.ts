/**
 * Snapshots (issue 9), measured through the public API on one partition of
 * CAIRN_BENCH_SNAPSHOT_MB (default 256) MB of state (13-byte keys, 100-byte values), built by
 * `Store.restorePartition`. Per round, interleaved (CAIRN_BENCH_SNAPSHOT_ROUNDS, default 3):
 * - a raw sequential scan of a read snapshot (the physical limit a snapshot reads through);
 * - `create` of a full snapshot into a fresh `file://` repository (chunk, hash, write), and into
 *   memory (the snapshot code without the file system);
 * - after overwriting a contiguous 1% of the keys, the next snapshot's uploaded bytes as % of the
 *   full one; the same after 1% of the keys at random;
 * - restore from the `file://` repository: `open` + every entry read and verified, and the same
 *   fed to `Store.restorePartition` (tables built from the stream);
 * - the object-store GETs `latest` costs (counted by the fault wrapper).
 * Medians over rounds. Targets: create >= 0.5x raw scan; contiguous 1% <= 3%; latest = 1 GET.
 * On its own: `node --import tsx bench/suites/snapshot.ts`.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { FaultObjectStore, FileObjectStore, MemoryObjectStore } from '../../src/objectstore/index.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'
import { type CaseResult, finishCase, formatCase, median, removeDir, round, type Row, type Suite, tempDir } from '../harness.js'

const stateMb = Number(process.env.CAIRN_BENCH_SNAPSHOT_MB ?? 256)
const rounds = Number(process.env.CAIRN_BENCH_SNAPSHOT_ROUNDS ?? 3)
const keyBytes = 13
const valueBytes = 100
const entryCount = Math.round((stateMb * 1e6) / (keyBytes + valueBytes))
const writer = { storeId: 'bench' }
const enc = new TextEncoder()

const keyOf = (i: number) => enc.encode(`k${String(i).padStart(keyBytes - 1, '0')}`)

/** A value that compresses about 2:1, like typical records (half varied, half repeated). */
function valueFor(i: number, version: number): Uint8Array {
  const v = new Uint8Array(valueBytes)
  let x = (i * 2654435761 + version * 40503) >>> 0
  for (let j = 0; j < valueBytes / 2; j++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    v[j] = x >>> 24
  }
  v.fill(0x20 + (version % 64), valueBytes / 2)
  return v
}

function* initialEntries(): Generator<[Uint8Array, Uint8Array]> {
  for (let i = 0; i < entryCount; i++) yield [keyOf(i), valueFor(i, 0)]
}

async function overwrite(p: Partition, indices: Iterable<number>, version: number): Promise<void> {
  let batch: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = []
  for (const i of indices) {
    batch.push({ type: 'put', key: keyOf(i), value: valueFor(i, version) })
    if (batch.length === 2000) {
      await p.write({ ops: batch })
      batch = []
    }
  }
  if (batch.length > 0) await p.write({ ops: batch })
}

function randomIndices(count: number, seed: number): number[] {
  const out = new Set<number>()
  let x = seed >>> 0
  while (out.size < count) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out.add(Math.floor((x / 2 ** 32) * entryCount))
  }
  return [...out]
}

async function timed<T>(body: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint()
  const value = await body()
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value }
}

function source(p: Partition) {
  const snap = p.readSnapshot()
  return { snap, source: { lsn: snap.lsn, logId: p.logId, scan: () => snap.scan() } }
}

async function createIn(dir: string, p: Partition) {
  const store = await FileObjectStore.open(dir)
  const repo = await SnapshotRepository.open(store)
  const { snap, source: s } = source(p)
  try {
    return { repo, store, result: await repo.create('p', s, { writer }) }
  } finally {
    await snap.close()
  }
}

export const snapshotSuite: Suite = {
  id: 'snapshot',
  groups: ['snapshot'],
  description: `snapshots of a ${stateMb} MB partition: create vs raw scan, incremental upload, restore, latest`,
  async run(ctx): Promise<CaseResult[]> {
    const root = await tempDir('snapshot')
    try {
      const store = await Store.open(join(root, 'store'))
      ctx.log(`   building ${entryCount.toLocaleString('en-US')} entries (${stateMb} MB)`)
      let p = await store.restorePartition('p', { lsn: 1, entries: initialEntries() })
      const canonicalMb = (entryCount * (keyBytes + valueBytes + 2)) / 1e6
      const scanS: number[] = []
      const createS: number[] = []
      const memoryS: number[] = []
      const contiguousPct: number[] = []
      const randomPct: number[] = []
      const openS: number[] = []
      const restoreS: number[] = []
      const fullStored: number[] = []
      const latestGets: number[] = []
      for (let r = 0; r < rounds; r++) {
        // Raw scan of the same state: the limit.
        const { snap } = source(p)
        try {
          const t = await timed(async () => {
            let bytes = 0
            for await (const [k, v] of snap.scan()) bytes += k.length + v.length
            return bytes
          })
          scanS.push(t.seconds)
        } finally {
          await snap.close()
        }
        // The same into memory: the snapshot's own cost, without the file system's.
        const inMemory = source(p)
        const mem = await timed(async () => (await SnapshotRepository.open(new MemoryObjectStore())).create('p', inMemory.source, { writer })).finally(() => inMemory.snap.close())
        memoryS.push(mem.seconds)
        const repoDir = join(root, `repo-${r}`)
        const full = await timed(() => createIn(repoDir, p))
        createS.push(full.seconds)
        fullStored.push(full.value.result.bytesUploaded)
        const { repo, store: objects } = full.value
        // A contiguous 1% of the keys, then 1% at random.
        const onePct = Math.round(entryCount / 100)
        const start = Math.floor(((r + 1) * entryCount) / (rounds + 2))
        await overwrite(p, Array.from({ length: onePct }, (_, j) => start + j), 2 * r + 1)
        const snapA = source(p)
        const a = await repo.create('p', snapA.source, { writer }).finally(() => snapA.snap.close())
        contiguousPct.push((100 * a.bytesUploaded) / full.value.result.bytesUploaded)
        await overwrite(p, randomIndices(onePct, 17 + r), 2 * r + 2)
        const snapB = source(p)
        const b = await repo.create('p', snapB.source, { writer }).finally(() => snapB.snap.close())
        randomPct.push((100 * b.bytesUploaded) / full.value.result.bytesUploaded)
        // Restore: read and verify every entry; then into a partition.
        const opened = await timed(async () => {
          let n = 0
          for await (const _ of (await repo.open('p')).entries()) n++
          return n
        })
        openS.push(opened.seconds)
        const restored = await timed(async () => (await repo.open('p')).entries())
        // One id every round: a restore replaces the previous one.
        const into = await timed(() => store.restorePartition('restored', { lsn: 1, entries: restored.value }))
        restoreS.push(restored.seconds + into.seconds)
        // latest: GETs counted.
        const counted = new FaultObjectStore(objects)
        await (await SnapshotRepository.open(counted)).latest('p')
        latestGets.push(counted.calls.get + counted.calls.head + counted.calls.list)
        await objects.close()
        await removeDir(repoDir)
        p = (await store.partition('p'))!
        ctx.log(`   round ${r + 1}: scan ${round(scanS[r]!, 2)} s, create ${round(createS[r]!, 2)} s (memory ${round(memoryS[r]!, 2)} s), +1% contiguous ${round(contiguousPct[r]!, 2)}%, +1% random ${round(randomPct[r]!, 2)}%, open ${round(openS[r]!, 2)} s, restore ${round(restoreS[r]!, 2)} s`)
      }
      await store.close()
      const row = (system: string, kind: Row['kind'], seconds: number, extra?: Record<string, number>): Row => ({
        system,
        kind,
        ops: entryCount,
        seconds: round(seconds, 3),
        opsPerSec: round(1 / seconds, 3),
        recordsPerSec: round(entryCount / seconds, 0),
        mbPerSec: round(canonicalMb / seconds, 1),
        ...(extra !== undefined && { extra }),
      })
      const createCase = finishCase({
        suite: 'snapshot',
        name: 'create vs raw scan',
        params: { stateMb, entries: entryCount, rounds },
        metric: 'recordsPerSec',
        rows: [
          row('cairn snapshot create (file://)', 'cairn', median(createS), { storedMb: round(median(fullStored) / 1e6, 1) }),
          row('raw sequential scan', 'peer', median(scanS)),
          row('cairn snapshot create (memory://)', 'limit', median(memoryS)),
        ],
        targets: [{ description: 'create >= 0.5x raw scan', metric: 'recordsPerSec', factorOfBestPeer: 0.5 }],
        notes: [
          'the raw scan is the physical limit (same read snapshot, no encoding, no I/O): kind "peer" only so the target can name it',
          'create into memory:// is the snapshot code alone (chunk, hash; no compression for local stores by default); the file:// row adds, per 64 KiB chunk, a temp file, fsync, link and folder fsync',
        ],
      })
      const contiguous = median(contiguousPct)
      const random = median(randomPct)
      const gets = Math.max(...latestGets)
      const otherCase = finishCase({
        suite: 'snapshot',
        name: 'incremental upload, restore, latest',
        params: { stateMb, entries: entryCount, rounds },
        metric: 'recordsPerSec',
        rows: [
          row('restore: open + read + verify (file://)', 'cairn', median(openS), {
            contiguous1PctUploadPct: round(contiguous, 3),
            random1PctUploadPct: round(random, 2),
            latestGets: gets,
          }),
          row('restore into Store.restorePartition (file://)', 'limit', median(restoreS)),
        ],
        notes: [
          `after a contiguous 1% of keys changed, the next snapshot uploads ${round(contiguous, 3)}% of the full snapshot's bytes (target <= 3%: ${contiguous <= 3 ? 'PASS' : 'FAIL'})`,
          `after 1% of keys changed at random, it uploads ${round(random, 2)}% (every changed key lands in a different 64 KiB chunk: expected ~100%)`,
          `finding the latest snapshot costs ${gets} object-store read(s) (target 1: ${gets === 1 ? 'PASS' : 'FAIL'})`,
        ],
      })
      return [createCase, otherCase]
    } finally {
      await removeDir(root)
    }
  },
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const log = (line: string) => void process.stderr.write(`${line}\n`)
  for (const c of await snapshotSuite.run({ shared: new Map(), log })) process.stdout.write(`\n${formatCase(c)}\n`)
}
