/**
 * Online backup (issue 10): checkpoint time for stores of ~100 MB and ~1 GB against a full copy
 * of the same files with fsync (the physical cost of "just copy it"), lmdb's `backup()` and
 * better-sqlite3's `backup()` of the same entries; and the writer stall: p99 of one awaited
 * durable append while checkpoints run back to back, against the same writer alone.
 *
 * Rounds interleave the systems (cairn, copy, lmdb, sqlite, then again) and report medians.
 * Knobs: CAIRN_BENCH_CHECKPOINT_MB (store sizes in MB, default "100,1000"),
 * CAIRN_BENCH_CHECKPOINT_ROUNDS (default 3), CAIRN_BENCH_SECONDS (each stall window, default 3).
 * Run alone: `node --import tsx bench/suites/checkpoint.ts` (or `npm run bench -- checkpoint`).
 */
import { execFileSync } from 'node:child_process'
import { copyFile, cp, mkdir, open as openFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { open as openLmdb } from 'lmdb'
import { checkpoint, type Partition, Store } from '../../src/index.js'
import {
  benchSeconds,
  type CaseResult,
  finishCase,
  formatCase,
  median,
  newHistogram,
  percentiles,
  removeDir,
  round,
  type Row,
  type Suite,
  type SuiteContext,
  tempDir,
  u64Key,
} from '../harness.js'

const sizesMb = (process.env.CAIRN_BENCH_CHECKPOINT_MB ?? '100,1000').split(',').map((s) => Number(s.trim()))
const rounds = Math.max(3, Number(process.env.CAIRN_BENCH_CHECKPOINT_ROUNDS ?? 3))
const valueBytes = 1024
const batchEntries = 1000
const partitionCount = 4
/** Files copied at once by the full-copy baseline (the checkpoint links and copies 8 at once too). */
const copyConcurrency = 8
const appendBytes = 100

/** Incompressible-ish values: slices of one random pool, so no engine wins by compressing. */
const pool = new Uint8Array(1 << 20).map(() => Math.floor(Math.random() * 256))
function entryValue(i: number): Uint8Array {
  const at = (i * 7919) % (pool.length - valueBytes)
  return pool.subarray(at, at + valueBytes)
}

interface Sources {
  cairn: string
  /** A copy of the store whose partitions' logs were just rolled: every segment sealed, nothing to copy. */
  rolled: string
  lmdb: string
  sqlite: string
  entries: number
  cairnFiles: number
  cairnBytes: number
}

/** The same entries into a cairn store (4 partitions), an lmdb env and a sqlite file. */
async function build(ctx: SuiteContext, mb: number): Promise<Sources> {
  // The store keeps each entry in its log and, once flushed, in a table: half the size in values.
  const entries = Math.max(batchEntries, Math.round((mb * 1e6) / 2 / valueBytes / batchEntries) * batchEntries)
  const root = await tempDir(`checkpoint-${mb}mb`)
  const sources: Sources = { cairn: join(root, 'cairn'), rolled: join(root, 'cairn-rolled'), lmdb: join(root, 'lmdb'), sqlite: join(root, 'sqlite'), entries, cairnFiles: 0, cairnBytes: 0 }
  ctx.log(`  building ${entries} entries of ${valueBytes} bytes (cairn, lmdb, better-sqlite3)`)
  const store = await Store.open(sources.cairn)
  try {
    const parts = await Promise.all(Array.from({ length: partitionCount }, (_, i) => store.ensurePartition(`p${i}`)))
    for (let i = 0; i < entries; i += batchEntries) {
      const ops = []
      for (let j = i; j < i + batchEntries; j++) ops.push({ type: 'put' as const, key: u64Key(j), value: entryValue(j) })
      await parts[(i / batchEntries) % partitionCount]!.write({ ops })
    }
    for (const p of parts) await p.flush()
    // The writer of the stall case.
    await store.ensurePartition('w')
  } finally {
    await store.close()
  }
  await cp(sources.cairn, sources.rolled, { recursive: true })
  const rolled = await Store.open(sources.rolled)
  try {
    for (const id of rolled.partitions()) await rolled.rollPartitionLog(id)
  } finally {
    await rolled.close()
  }
  const files = await listFiles(sources.cairn)
  sources.cairnFiles = files.length
  sources.cairnBytes = files.reduce((sum, f) => sum + f.bytes, 0)

  await mkdir(sources.lmdb)
  const env = openLmdb<Buffer, Buffer>({ path: join(sources.lmdb, 'db'), keyEncoding: 'binary', encoding: 'binary', compression: false, cache: false, mapSize: 8 * 1024 ** 3 })
  for (let i = 0; i < entries; i += 50_000) {
    env.transactionSync(() => {
      for (let j = i; j < Math.min(entries, i + 50_000); j++) env.putSync(Buffer.from(u64Key(j)), Buffer.from(entryValue(j)))
    })
  }
  await env.flushed
  await env.close()

  await mkdir(sources.sqlite)
  const db = new Database(join(sources.sqlite, 'db.sqlite'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  db.exec('CREATE TABLE log (id INTEGER PRIMARY KEY, v BLOB NOT NULL)')
  const put = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)')
  const many = db.transaction((from: number, to: number) => {
    for (let j = from; j < to; j++) put.run(j, entryValue(j))
  })
  for (let i = 0; i < entries; i += 50_000) many(i, Math.min(entries, i + 50_000))
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  // Nothing built may still be dirty in the page cache: the first fsync of a timed run would
  // otherwise pay for writing it back (ext4's ordered journal flushes it with any commit).
  execFileSync('sync')
  return sources
}

async function listFiles(dir: string, under = ''): Promise<Array<{ path: string; bytes: number }>> {
  const out: Array<{ path: string; bytes: number }> = []
  for (const e of await readdir(join(dir, under), { withFileTypes: true })) {
    const rel = under === '' ? e.name : `${under}/${e.name}`
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)))
    else if (e.name !== 'LOCK') out.push({ path: rel, bytes: (await stat(join(dir, rel))).size })
  }
  return out
}

async function fsyncPath(path: string): Promise<void> {
  const h = await openFile(path, 'r')
  try {
    await h.sync()
  } finally {
    await h.close()
  }
}

/** Every file of the store copied and fsynced, then every directory fsynced: the "cp -a && sync" a checkpoint replaces. */
async function fullCopy(from: string, to: string): Promise<void> {
  const files = await listFiles(from)
  const dirs = new Set<string>([to])
  for (const f of files) {
    const parts = f.path.split('/')
    for (let i = 1; i < parts.length; i++) dirs.add(join(to, ...parts.slice(0, i)))
  }
  for (const d of [...dirs].sort()) await mkdir(d, { recursive: true })
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const f = files[next++]!
      await copyFile(join(from, f.path), join(to, f.path))
      await fsyncPath(join(to, f.path))
    }
  }
  await Promise.all(Array.from({ length: copyConcurrency }, worker))
  for (const d of dirs) await fsyncPath(d)
}

async function seconds(body: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint()
  await body()
  return Number(process.hrtime.bigint() - t0) / 1e9
}

/** One size: checkpoint vs copy vs peers, interleaved, medians. */
async function timeCase(ctx: SuiteContext, mb: number): Promise<{ result: CaseResult; sources: Sources }> {
  const sources = await build(ctx, mb)
  const out = await tempDir(`checkpoint-out-${mb}mb`)
  const times: Record<string, number[]> = { cairn: [], rolled: [], copy: [], lmdb: [], sqlite: [] }
  const checkpointFiles: number[] = []
  const linked: number[] = []
  const copied: number[] = []
  const store = await Store.open(sources.cairn)
  const rolledStore = await Store.open(sources.rolled)
  let rolledLinked = 0
  try {
    for (let r = 0; r < rounds; r++) {
      ctx.log(`  round ${r + 1}/${rounds}`)
      const cp = join(out, `cairn-${r}`)
      let files = 0
      times.cairn!.push(
        await seconds(async () => {
          const made = await checkpoint(store, cp)
          files = made.files
          linked.push(made.linkedFiles)
          copied.push(made.copiedFiles)
        }),
      )
      checkpointFiles.push(files)
      await removeDir(cp)
      const cpRolled = join(out, `rolled-${r}`)
      times.rolled!.push(
        await seconds(async () => {
          rolledLinked = (await checkpoint(rolledStore, cpRolled)).linkedFiles
        }),
      )
      await removeDir(cpRolled)
      const copy = join(out, `copy-${r}`)
      times.copy!.push(await seconds(() => fullCopy(sources.cairn, copy)))
      await removeDir(copy)
      const env = openLmdb<Buffer, Buffer>({ path: join(sources.lmdb, 'db'), keyEncoding: 'binary', encoding: 'binary', compression: false, cache: false, mapSize: 8 * 1024 ** 3 })
      // lmdb-js opens its path as a directory, so mdb_env_copy writes <dir>/data.mdb into an existing one.
      const lmdbOut = join(out, `lmdb-${r}`)
      await mkdir(lmdbOut)
      try {
        times.lmdb!.push(await seconds(() => env.backup(lmdbOut, false)))
      } finally {
        await env.close()
      }
      await removeDir(lmdbOut)
      const db = new Database(join(sources.sqlite, 'db.sqlite'))
      const sqliteOut = join(out, `sqlite-${r}.sqlite`)
      try {
        times.sqlite!.push(await seconds(() => db.backup(sqliteOut)))
      } finally {
        db.close()
      }
      await removeDir(sqliteOut)
    }
  } finally {
    await store.close()
    await rolledStore.close()
    await removeDir(out)
  }
  const files = median(checkpointFiles)
  const row = (system: string, kind: Row['kind'], xs: number[], note?: string): Row => {
    const s = median(xs)
    const r: Row = { system, kind, ops: xs.length, seconds: round(s, 4), opsPerSec: round(1 / s, 3), extra: { ms: round(s * 1000, 2) } }
    if (note !== undefined) r.note = note
    return r
  }
  const cairnRow = row('cairn checkpoint', 'cairn', times.cairn!)
  cairnRow.extra = { ...cairnRow.extra, files, linked: median(linked), copied: median(copied), 'µs/file': round((median(times.cairn!) * 1e6) / files, 1) }
  const copyRow = row('full copy + fsync', 'limit', times.copy!, `${sources.cairnFiles} files, ${copyConcurrency} at once, each fsynced, then every directory`)
  const result = finishCase({
    suite: 'checkpoint',
    name: `checkpoint of a ~${mb} MB store`,
    params: { storeMB: round(sources.cairnBytes / 1e6, 1), storeFiles: sources.cairnFiles, entries: sources.entries, valueBytes, partitions: partitionCount, rounds },
    metric: 'opsPerSec',
    rows: [
      cairnRow,
      row(
        'cairn checkpoint, logs just rolled',
        'limit',
        times.rolled!,
        `the same store with every partition's log rolled first: all ${rolledLinked} table and segment files linked, only metadata written (the lower bound of the design)`,
      ),
      copyRow,
      row('lmdb backup()', 'peer', times.lmdb!, 'mdb_env_copy of the same entries; does not fsync its output'),
      row('better-sqlite3 backup()', 'peer', times.sqlite!, 'the online backup API, same entries; does not fsync its output'),
    ],
    notes: [
      'opsPerSec = checkpoints (or copies, backups) per second = 1 / median seconds; "cairn ÷ this" is how many times faster the checkpoint is',
      'the checkpoint fsyncs every file and directory it makes; the peers do not',
      "the checkpoint links tables and sealed segments and copies (and hashes) only the log frames its state does not hold yet; the store here was flushed after loading, so that copy is small",
    ],
    targets: [
      { description: 'checkpoint >= 50x faster than a full copy with fsync', metric: 'opsPerSec', absolute: 50 * copyRow.opsPerSec },
      { description: 'checkpoint faster than the best peer backup()', metric: 'opsPerSec', factorOfBestPeer: 1 },
    ],
  })
  return { result, sources }
}

/** One awaited durable 100-byte append at a time for `seconds`; the p99 (µs) and count. */
async function appendWindow(p: Partition, secondsLong: number): Promise<{ p99Us: number; p50Us: number; ops: number }> {
  const h = newHistogram()
  const payload = new Uint8Array(appendBytes).fill(0x61)
  const end = process.hrtime.bigint() + BigInt(Math.round(secondsLong * 1e9))
  let ops = 0
  while (process.hrtime.bigint() < end) {
    const t0 = process.hrtime.bigint()
    await p.append([payload])
    h.record(Math.max(1, Number(process.hrtime.bigint() - t0)))
    ops++
  }
  return { ...percentiles(h), ops }
}

/** Writer stall: the same writer alone and during back-to-back checkpoints, interleaved. */
async function stallCase(ctx: SuiteContext, sources: Sources, mb: number): Promise<CaseResult> {
  const out = await tempDir('checkpoint-stall')
  const alone: Array<{ p99Us: number; p50Us: number; ops: number }> = []
  const during: Array<{ p99Us: number; p50Us: number; ops: number }> = []
  let checkpoints = 0
  const store = await Store.open(sources.cairn)
  try {
    const w = await store.partition('w')
    for (let r = 0; r < rounds; r++) {
      ctx.log(`  stall round ${r + 1}/${rounds}`)
      alone.push(await appendWindow(w, benchSeconds))
      let stop = false
      const loop = (async () => {
        for (let i = 0; !stop; i++) {
          const dir = join(out, `r${r}-${i}`)
          await checkpoint(store, dir)
          checkpoints++
          await removeDir(dir)
        }
      })()
      try {
        during.push(await appendWindow(w, benchSeconds))
      } finally {
        stop = true
        await loop
      }
    }
  } finally {
    await store.close()
    await removeDir(out)
  }
  const row = (system: string, kind: Row['kind'], xs: Array<{ p99Us: number; p50Us: number; ops: number }>): Row => ({
    system,
    kind,
    ops: Math.round(median(xs.map((x) => x.ops))),
    seconds: benchSeconds,
    opsPerSec: round(median(xs.map((x) => x.ops)) / benchSeconds, 1),
    p50Us: median(xs.map((x) => x.p50Us)),
    p99Us: median(xs.map((x) => x.p99Us)),
  })
  const aloneRow = row('appends alone', 'limit', alone)
  const duringRow = row('appends during checkpoints', 'cairn', during)
  const deltaMs = round((duringRow.p99Us! - aloneRow.p99Us!) / 1000, 3)
  const c = finishCase({
    suite: 'checkpoint',
    name: 'writer stall during repeated checkpoints',
    params: { storeMB: round(sources.cairnBytes / 1e6, 1), sizeKnobMB: mb, appendBytes, windowSeconds: benchSeconds, rounds, checkpoints },
    metric: 'opsPerSec',
    rows: [aloneRow, duringRow],
    notes: [
      `p99 append latency during back-to-back checkpoints is ${deltaMs} ms above the writer alone (median of ${rounds} interleaved windows each; ${checkpoints} checkpoints in all)`,
    ],
  })
  c.targets.push({ description: 'p99 append latency during checkpoints at most 5 ms above alone (cairn = the p99 increase in ms)', metric: 'opsPerSec', cairn: deltaMs, threshold: 5, pass: deltaMs <= 5 })
  return c
}

export const checkpointSuite: Suite = {
  id: 'checkpoint',
  groups: ['backup'],
  description: 'online checkpoints: time vs store size, vs a full copy with fsync and peer backup(), and the writer stall',
  async run(ctx): Promise<CaseResult[]> {
    const results: CaseResult[] = []
    let smallest: Sources | undefined
    const built: Sources[] = []
    try {
      for (const mb of sizesMb) {
        ctx.log(` case: ~${mb} MB`)
        const { result, sources } = await timeCase(ctx, mb)
        results.push(result)
        built.push(sources)
        smallest ??= sources
      }
      if (smallest !== undefined) {
        ctx.log(' case: writer stall')
        results.push(await stallCase(ctx, smallest, sizesMb[0]!))
      }
      const perFile = results.filter((r) => r.name.startsWith('checkpoint of')).map((r) => `${r.params.storeMB} MB: ${r.rows[0]?.extra?.ms} ms, ${r.rows[0]?.extra?.['µs/file']} µs/file`)
      if (perFile.length > 1) results[0]!.notes.push(`checkpoint time by store size: ${perFile.join('; ')}`)
    } finally {
      for (const s of built) await removeDir(join(s.cairn, '..'))
    }
    return results
  },
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const log = (line: string): void => void process.stderr.write(`${line}\n`)
  const results = await checkpointSuite.run({ shared: new Map(), log })
  for (const c of results) process.stdout.write(`\n${formatCase(c)}\n`)
  if (process.env.CAIRN_BENCH_OUT !== undefined) {
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(process.env.CAIRN_BENCH_OUT, 'checkpoint.json'), `${JSON.stringify({ suites: ['checkpoint'], cases: results }, null, 2)}\n`)
  }
}
