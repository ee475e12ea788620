/**
 * In-process A/B of the file log: an older checkout of the project (given by `--base <root>`)
 * against this tree, run alternately over several rounds in one process so that the machine's
 * swings hit both sides alike; prints each round and the medians.
 *
 * Cases: 64 concurrent appenders of 100-byte records under 'sync' durability, 1 writer awaiting
 * each append, and one `readBatches` pass over 1M 100-byte records (written under 'none', the
 * log closed and reopened first), on the real file system in temp dirs; and 64 appenders on the
 * in-memory file system, which times the group-commit code without the disk's latency (the
 * figure least disturbed by other work on the machine's disk).
 *
 *   node --import tsx bench/ab-log.ts --base <root of another checkout> [--rounds 5] [--seconds 2]
 *
 * The other checkout's log class may be `FileLog` (src/log/file-log.ts) or, before the log
 * became an interface, `Log` (src/log/log.ts).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { median } from './harness.js'

interface Entry {
  lsn: number
}
interface AnyLog {
  append(records: { type: number; payload: Uint8Array }[]): Promise<number>
  readBatches(from: number): AsyncGenerator<Entry[]>
  close(): Promise<void>
  lastLsn: number
}
interface Side {
  name: string
  open(dir: string, durability: 'sync' | 'none'): Promise<AnyLog>
  /** The same log class on its checkout's in-memory file system (the group-commit path without disk latency). */
  openInMemory(): Promise<AnyLog>
}

const { values } = parseArgs({
  options: { base: { type: 'string' }, rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '2' }, records: { type: 'string', default: '1000000' } },
})
if (values.base === undefined) {
  console.error('usage: node --import tsx bench/ab-log.ts --base <root of another checkout> [--rounds 5] [--seconds 2]')
  process.exit(2)
}
const rounds = Number(values.rounds)
const seconds = Number(values.seconds)
const readRecords = Number(values.records)
const recordBytes = 100

async function loadSide(name: string, root: string): Promise<Side> {
  const io = await import(pathToFileURL(join(root, 'src/io/index.ts')).href)
  const fileLog = join(root, 'src/log/file-log.ts')
  const mod = existsSync(fileLog) ? await import(pathToFileURL(fileLog).href) : await import(pathToFileURL(join(root, 'src/log/log.ts')).href)
  const cls = mod.FileLog ?? mod.Log
  if (typeof cls?.open !== 'function') throw new Error(`${root}: no log class with open()`)
  return {
    name,
    open: (dir, durability) => cls.open({ fs: new io.NodeFileSystem(), dir, durability }),
    openInMemory: () => cls.open({ fs: new io.MemoryFileSystem({ seed: 1 }), dir: '/bench/log', durability: 'sync' }),
  }
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-ab-'))
  try {
    return await fn(join(dir, 'log'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const payload = new Uint8Array(recordBytes).fill(7)

/**
 * A case's throughput, and the process's CPU time per operation (user + system, in µs): the
 * latter does not wait on the disk, so it moves less with other work on the machine.
 */
interface Measure {
  rate: number
  cpuUs: number
}

/** Appends/s with `writers` loops each awaiting its own single-record append, for `seconds`. */
async function appendRate(side: Side, writers: number, inMemory = false): Promise<Measure> {
  return withDir(async (dir) => {
    const log = inMemory ? await side.openInMemory() : await side.open(dir, 'sync')
    let ops = 0
    const until = performance.now() + seconds * 1000
    const start = performance.now()
    const cpu = process.cpuUsage()
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < until) {
          await log.append([{ type: 1, payload }])
          ops += 1
        }
      }),
    )
    const elapsed = (performance.now() - start) / 1000
    const used = process.cpuUsage(cpu)
    if (log.lastLsn !== ops) throw new Error(`${side.name}: lastLsn ${log.lastLsn} != ops ${ops}`)
    await log.close()
    return { rate: ops / elapsed, cpuUs: (used.user + used.system) / ops }
  })
}

/** Writes `readRecords` records under 'none' into a fresh dir (kept until the end of the run). */
async function prepareRead(side: Side): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-ab-read-'))
  const dir = join(root, 'log')
  const writer = await side.open(dir, 'none')
  const batch = Array.from({ length: 10_000 }, () => ({ type: 1, payload }))
  for (let n = 0; n < readRecords; n += batch.length) await writer.append(batch)
  await writer.close()
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) }
}

/** Records/s of one readBatches pass over the prepared log (opened afresh). */
async function readRate(side: Side, dir: string): Promise<Measure> {
  const log = await side.open(dir, 'none')
  const start = performance.now()
  const cpu = process.cpuUsage()
  let count = 0
  for await (const b of log.readBatches(1)) count += b.length
  const elapsed = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  if (count !== readRecords) throw new Error(`${side.name}: read ${count} of ${readRecords}`)
  await log.close()
  return { rate: count / elapsed, cpuUs: (used.user + used.system) / count }
}

const sides = [await loadSide('base', resolve(values.base)), await loadSide('this', resolve(import.meta.dirname, '..'))]
const cases: Array<[string, (side: Side) => Promise<Measure>]> = [
  ['64 writers, appends/s', (s) => appendRate(s, 64)],
  ['1 writer, appends/s', (s) => appendRate(s, 1)],
  ['64 writers on the in-memory file system, appends/s', (s) => appendRate(s, 64, true)],
  [`readBatches ${readRecords}, records/s`, (s) => readRate(s, readDirs.get(s.name)!.dir)],
]
const readDirs = new Map<string, { dir: string; cleanup(): Promise<void> }>()
for (const side of sides) readDirs.set(side.name, await prepareRead(side))
const results = new Map<string, Measure[]>()
for (let r = 0; r < rounds; r++) {
  // Alternate which side goes first, so neither always runs on a warmer (or busier) machine.
  const order = r % 2 === 0 ? sides : [...sides].reverse()
  for (const [label, run] of cases) {
    for (const side of order) {
      const m = await run(side)
      const key = `${label} | ${side.name}`
      results.set(key, [...(results.get(key) ?? []), m])
      console.log(`round ${r + 1} ${key}: ${Math.round(m.rate)} (CPU ${m.cpuUs.toFixed(2)} µs/op)`)
    }
  }
}
for (const { cleanup } of readDirs.values()) await cleanup()
// Both medians, and the median of the per-round ratios: the two runs of one round ran back to
// back, so their ratio is the least disturbed by the machine's swings.
console.log('\nmedians:')
for (const [label] of cases) {
  const [a, b] = sides.map((s) => results.get(`${label} | ${s.name}`)!)
  const rates = [a!.map((m) => m.rate), b!.map((m) => m.rate)] as const
  const cpus = [a!.map((m) => m.cpuUs), b!.map((m) => m.cpuUs)] as const
  const ratio = median(rates[1].map((x, i) => x / rates[0][i]!))
  const cpuRatio = median(cpus[1].map((x, i) => x / cpus[0][i]!))
  console.log(
    `${label}: base ${Math.round(median(rates[0]))}  this ${Math.round(median(rates[1]))}  (median of per-round this/base ${ratio.toFixed(3)}); ` +
      `CPU µs/op base ${median(cpus[0]).toFixed(2)}  this ${median(cpus[1]).toFixed(2)}  (per-round this/base ${cpuRatio.toFixed(3)})`,
  )
}
