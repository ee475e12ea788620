/**
 * Child process of checkpoint-kill.test.ts: opens the store in argv[2] (filling it on the first
 * run), then writes while it takes checkpoints one after another into argv[3]/cp-<round>-<i>,
 * printing `start <name>` before each and `done <name>` after, until it is killed.
 */
import { posix } from 'node:path'
import { checkpoint } from '../../src/checkpoint/index.js'
import { Store } from '../../src/partition/index.js'

const [dir, root, round] = process.argv.slice(2) as [string, string, string]
const store = await Store.open(dir, { segmentBytesMax: 8192, memtableBytesMax: 16 * 1024 })
const ids = Array.from({ length: 8 }, (_, i) => `p${i}`)
for (const id of ids) {
  const p = await store.ensurePartition(id)
  // Batches of puts: a few fsyncs fill the store; small segments and memtables give it many files.
  if (p.lastLsn === 0) {
    for (let b = 0; b < 30; b++) await p.write({ ops: Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: `k${(b * 10 + i) % 100}`, value: `value ${b} ${'x'.repeat(50)}` })) })
  }
}
// Writers run until the kill (their promises are never awaited).
for (const id of ids) {
  const p = await store.partition(id)
  void (async () => {
    for (let i = 0; ; i++) await p.put(`w${i % 50}`, `round ${round} ${i}`)
  })()
}
process.stdout.write('ready\n')
for (let i = 0; ; i++) {
  const name = `cp-${round}-${i}`
  process.stdout.write(`start ${name}\n`)
  await checkpoint(store, posix.join(root, name))
  process.stdout.write(`done ${name}\n`)
}
