/**
 * StoreReader.read against the read it replaced (a generator over a read-only file log of the
 * partition's active log, entries decoded one by one), over the same store, alternating rounds in one process;
 * prints each round's records per CPU second and the medians. Run: node --import tsx bench/ab-store-reader.ts [records]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeFileSystem } from '../src/io/index.js'
import { FileLog } from '../src/log/index.js'
import { decodeEntry, Store, StoreLayout, StoreReader } from '../src/partition/index.js'

const records = Number(process.argv[2] ?? 300_000)
const rounds = Number(process.argv[3] ?? 15)
const dir = await mkdtemp(join(tmpdir(), 'cairn-ab-reader-'))
try {
  const store = await Store.open(dir, { durability: 'none' })
  const p = await store.ensurePartition('p')
  const batch = Array.from({ length: 1000 }, (_, i) => `record-${i}-${'x'.repeat(80)}`)
  for (let n = 0; n < records; n += batch.length) await p.append(batch)
  await store.close()
  const logId = (await StoreReader.open(dir).then(async (r) => ((await r.log('p')).logId)))
  const fs = new NodeFileSystem()

  const viaReader = async (): Promise<number> => {
    const reader = await StoreReader.open(dir)
    let n = 0
    for await (const e of reader.read('p')) n += e.lsn > 0 ? 1 : 0
    await reader.close()
    return n
  }
  // The replaced StoreReader.read, as it was: a generator over the file log's batches.
  async function* oldRead(log: FileLog) {
    await log.refresh()
    for await (const b of log.readBatches(log.firstLsn)) for (const entry of b) yield decodeEntry(entry)
  }
  const viaFileLog = async (): Promise<number> => {
    const log = await FileLog.open({ fs, dir: new StoreLayout(dir).logDir('p', logId), logId, readOnly: true })
    let n = 0
    for await (const e of oldRead(log)) n += e.lsn > 0 ? 1 : 0
    await log.close()
    return n
  }
  const rates: Record<string, number[]> = { reader: [], fileLog: [] }
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of round % 2 === 0 ? ([['reader', viaReader], ['fileLog', viaFileLog]] as const) : ([['fileLog', viaFileLog], ['reader', viaReader]] as const)) {
      // CPU time, not wall time: the machine is shared, and descheduling would decide a wall clock.
      const start = process.cpuUsage()
      const n = await run()
      const used = process.cpuUsage(start)
      if (n !== records) throw new Error(`${name} read ${n} of ${records}`)
      rates[name]!.push(n / ((used.user + used.system) / 1e6))
    }
    console.log(`round ${round}: reader ${Math.round(rates.reader!.at(-1)!)} rec/s, fileLog ${Math.round(rates.fileLog!.at(-1)!)} rec/s`)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  console.log(`median: StoreReader.read ${Math.round(median(rates.reader!))} rec/s, read-only FileLog ${Math.round(median(rates.fileLog!))} rec/s (ratio ${(median(rates.reader!) / median(rates.fileLog!)).toFixed(3)})`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
