/**
 * In-process A/B of the file log: an older checkout of the project (given by `--base <root>`)
 * against this tree, run alternately over several rounds in one process so that the machine's
 * swings hit both sides alike; prints each round and the medians.
 *
 * Cases: 64 concurrent appenders of 100-byte records under 'sync' durability, 1 writer awaiting
 * each append, and one `readBatches` pass over 1M 100-byte records (written under 'none', the
 * log closed and reopened first). Everything runs on the real file system, in temp dirs.
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
  return { name, open: (dir, durability) => cls.open({ fs: new io.NodeFileSystem(), dir, durability }) }
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

/** Appends/s with `writers` loops each awaiting its own single-record append, for `seconds`. */
async function appendRate(side: Side, writers: number): Promise<number> {
  return withDir(async (dir) => {
    const log = await side.open(dir, 'sync')
    let ops = 0
    const until = performance.now() + seconds * 1000
    const start = performance.now()
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < until) {
          await log.append([{ type: 1, payload }])
          ops += 1
        }
      }),
    )
    const elapsed = (performance.now() - start) / 1000
    if (log.lastLsn !== ops) throw new Error(`${side.name}: lastLsn ${log.lastLsn} != ops ${ops}`)
    await log.close()
    return ops / elapsed
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
async function readRate(side: Side, dir: string): Promise<number> {
  const log = await side.open(dir, 'none')
  const start = performance.now()
  let count = 0
  for await (const b of log.readBatches(1)) count += b.length
  const elapsed = (performance.now() - start) / 1000
  if (count !== readRecords) throw new Error(`${side.name}: read ${count} of ${readRecords}`)
  await log.close()
  return count / elapsed
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const sides = [await loadSide('base', resolve(values.base)), await loadSide('this', resolve(import.meta.dirname, '..'))]
const cases: Array<[string, (side: Side) => Promise<number>]> = [
  ['64 writers, appends/s', (s) => appendRate(s, 64)],
  ['1 writer, appends/s', (s) => appendRate(s, 1)],
  [`readBatches ${readRecords}, records/s`, (s) => readRate(s, readDirs.get(s.name)!.dir)],
]
const readDirs = new Map<string, { dir: string; cleanup(): Promise<void> }>()
for (const side of sides) readDirs.set(side.name, await prepareRead(side))
const results = new Map<string, number[]>()
for (let r = 0; r < rounds; r++) {
  // Alternate which side goes first, so neither always runs on a warmer (or busier) machine.
  const order = r % 2 === 0 ? sides : [...sides].reverse()
  for (const [label, run] of cases) {
    for (const side of order) {
      const rate = await run(side)
      const key = `${label} | ${side.name}`
      results.set(key, [...(results.get(key) ?? []), rate])
      console.log(`round ${r + 1} ${key}: ${Math.round(rate)}`)
    }
  }
}
for (const { cleanup } of readDirs.values()) await cleanup()
// Both medians, and the median of the per-round ratios: the two runs of one round ran back to
// back, so their ratio is the least disturbed by the machine's swings.
console.log('\nmedians:')
for (const [label] of cases) {
  const [a, b] = sides.map((s) => results.get(`${label} | ${s.name}`)!)
  const ratios = a!.map((x, i) => b![i]! / x)
  console.log(`${label}: base ${Math.round(median(a!))}  this ${Math.round(median(b!))}  (median of per-round this/base ${median(ratios).toFixed(3)})`)
}
