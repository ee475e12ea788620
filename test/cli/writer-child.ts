// Child of read-only.test.ts: owns the store in argv[2] (holding its lock) and writes to
// partition `p` one put at a time, key `k<i>` = `v<i>` and `last` = `<i>`, printing `ack <i>`
// once each is acknowledged; it flushes, compacts and trims along the way, so the CLI reads
// while tables are written, compacted away and the log is trimmed. Stops when stdin ends.
import { createInterface } from 'node:readline'
import { Store } from '../../src/partition/index.js'

const [dir] = process.argv.slice(2)
const store = await Store.open(dir!, { memtableBytesMax: 8192, segmentBytesMax: 8192 })
const p = await store.ensurePartition('p')
let stop = false
const lines = createInterface({ input: process.stdin })
lines.on('close', () => {
  stop = true
})
for (let i = 1; !stop; i++) {
  await p.write({
    ops: [
      { type: 'put', key: `k${i}`, value: `v${i}` },
      { type: 'put', key: 'last', value: String(i) },
    ],
  })
  process.stdout.write(`ack ${i}\n`)
  if (i % 40 === 0) await p.flush()
  if (i % 120 === 0) {
    await p.compact()
    await p.trim(p.trimFloor)
  }
}
await store.close()
process.exit(0)
