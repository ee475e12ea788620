/**
 * In-process A/B of what a log chain costs: the file log used directly against the same file
 * log behind a `LogChain` of one log (what the store now hands a partition), run alternately
 * over several rounds in one process so the machine's swings hit both sides alike; prints each
 * round, the medians, and the median of the per-round ratios.
 *
 * Cases: 64 concurrent appenders and 1 writer (100-byte records, 'sync'), one `readBatches` pass
 * and one `tail` pass (entry by entry) over a prepared log of `--records` records.
 *
 *   node --import tsx bench/ab-chain.ts [--rounds 5] [--seconds 2] [--records 1000000]
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { NodeFileSystem } from '../src/io/index.js'
import { FileLog, type Log, LogChain } from '../src/log/index.js'
import { median } from './harness.js'

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '2' }, records: { type: 'string', default: '1000000' } },
})
const rounds = Number(values.rounds)
const seconds = Number(values.seconds)
const readRecords = Number(values.records)
const payload = new Uint8Array(100).fill(7)
const fs = new NodeFileSystem()

interface Side {
  name: string
  open(dir: string, durability: 'sync' | 'none'): Promise<Log>
}

const logId = randomBytes(16).toString('hex')
const fileLog: Side = { name: 'FileLog', open: (dir, durability) => FileLog.open({ fs, dir, durability, logId }) }
const chain: Side = {
  name: 'LogChain',
  open: async (dir, durability) => {
    const active = await FileLog.open({ fs, dir, durability, logId })
    return LogChain.open({ links: [{ logId, firstLsn: 1 }], active, openSealed: () => Promise.reject(new Error('no sealed log')) })
  },
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-ab-chain-'))
  try {
    return await fn(join(dir, 'log'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

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

async function readRate(side: Side, dir: string, how: 'readBatches' | 'tail'): Promise<number> {
  const log = await side.open(dir, 'none')
  const start = performance.now()
  let count = 0
  if (how === 'readBatches') {
    for await (const b of log.readBatches(1)) count += b.length
  } else {
    const ac = new AbortController()
    for await (const e of log.tail(1, { signal: ac.signal })) {
      count += 1
      if (e.lsn === readRecords) ac.abort()
    }
  }
  const elapsed = (performance.now() - start) / 1000
  if (count !== readRecords) throw new Error(`${side.name}: read ${count} of ${readRecords}`)
  await log.close()
  return count / elapsed
}

const readRoot = await mkdtemp(join(tmpdir(), 'cairn-ab-chain-read-'))
const readDir = join(readRoot, 'log')
{
  const writer = await fileLog.open(readDir, 'none')
  const batch = Array.from({ length: 10_000 }, () => ({ type: 1, payload }))
  for (let n = 0; n < readRecords; n += batch.length) await writer.append(batch)
  await writer.close()
}
const sides = [fileLog, chain]
const cases: Array<[string, (side: Side) => Promise<number>]> = [
  ['64 writers, appends/s', (s) => appendRate(s, 64)],
  ['1 writer, appends/s', (s) => appendRate(s, 1)],
  [`readBatches ${readRecords}, records/s`, (s) => readRate(s, readDir, 'readBatches')],
  [`tail ${readRecords}, records/s`, (s) => readRate(s, readDir, 'tail')],
]
const results = new Map<string, number[]>()
for (let r = 0; r < rounds; r++) {
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
await rm(readRoot, { recursive: true, force: true })
console.log('\nmedians:')
for (const [label] of cases) {
  const [a, b] = sides.map((s) => results.get(`${label} | ${s.name}`)!)
  const ratios = a!.map((x, i) => b![i]! / x)
  console.log(`${label}: FileLog ${Math.round(median(a!))}  LogChain ${Math.round(median(b!))}  (median of per-round LogChain/FileLog ${median(ratios).toFixed(3)})`)
}
