// Child of crash.test.ts: writes atomic multi-key batches forever, printing each acknowledged
// batch number, until it is killed. argv: dataDir firstBatch
import { Store } from '../../src/partition/index.js'

const [dir, firstArg] = process.argv.slice(2)
const inFlightMax = 8
const store = await Store.open(dir!, { memtableBytesMax: 32 * 1024, segmentBytesMax: 64 * 1024 })
const p = await store.ensurePartition('crash')
process.stdout.write('ready\n')
const pad = (i: number) => String(i).padStart(7, '0')
let next = Number(firstArg)
const acked = new Set<number>()
async function writer(): Promise<void> {
  for (;;) {
    const i = next++
    const value = `v${i}-${'x'.repeat(i % 200)}`
    const ops = [
      { type: 'put' as const, key: `b${pad(i)}/a`, value },
      { type: 'put' as const, key: `b${pad(i)}/b`, value },
      { type: 'put' as const, key: `b${pad(i)}/c`, value },
    ]
    // Delete batch i-7's keys only if it is acknowledged, so it surely has the lower LSN; the
    // marker says whether this batch deletes, for the parent's check.
    const deletes = acked.has(i - 7)
    ops.push({ type: 'put', key: `m${pad(i)}`, value: deletes ? 'del' : 'keep' })
    if (deletes) ops.push({ type: 'deleteRange', start: `b${pad(i - 7)}/`, end: `b${pad(i - 7)}0` } as never)
    await p.write({ ops })
    acked.add(i)
    process.stdout.write(`${i}\n`)
  }
}
await Promise.all(Array.from({ length: inFlightMax }, writer))
