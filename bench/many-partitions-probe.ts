/**
 * One side of the many-partitions bench, in a process of its own so that its RSS and
 * descriptors are its own: `node --import tsx bench/many-partitions-probe.ts <repo root> <store
 * dir> create|measure <partitions>`. The root is the tree whose `src/partition/index.ts` it
 * imports (this one, or an older checkout to compare with). `create` makes a store of one-key
 * partitions; `measure` opens it and prints one JSON line: start-up (open, first answer, info),
 * then descriptors and RSS after info and at the peak of a write round over every partition, and
 * of four heavier rounds (64 KiB values).
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [root, dir, phase, countText] = process.argv.slice(2)
if (root === undefined || dir === undefined || (phase !== 'create' && phase !== 'measure')) {
  throw new Error('usage: many-partitions-probe.ts <root> <dir> create|measure <partitions>')
}
const count = Number(countText ?? 1000)
const writers = 16
const { Store } = (await import(pathToFileURL(join(root, 'src/partition/index.ts')).href)) as typeof import('../src/partition/index.js')
const fds = (): number => readdirSync('/proc/self/fd').length
const rssMb = (): number => process.memoryUsage().rss / 2 ** 20

async function each(work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < count) await work(next++)
    }),
  )
}

if (phase === 'create') {
  const store = await Store.open(dir, { durability: 'none' })
  await each(async (i) => void (await (await store.ensurePartition(`p${i}`)).put('k', 'v')))
  await store.close()
} else {
  const fds0 = fds()
  const t0 = performance.now()
  const store = await Store.open(dir)
  const openMs = performance.now() - t0
  await (await store.partition('p0')).get('k')
  const firstAnswerMs = performance.now() - t0
  const t1 = performance.now()
  const info = await store.info()
  const infoMs = performance.now() - t1
  if (info.partitions.length !== count) throw new Error(`expected ${count} partitions, info lists ${info.partitions.length}`)
  const fdsAfterInfo = fds() - fds0
  const rssAfterInfoMb = rssMb()
  let fdsPeak = 0
  let rssPeakMb = 0
  const value = new Uint8Array(16 * 1024).fill(1)
  const t2 = performance.now()
  await each(async (i) => {
    await (await store.partition(`p${i}`)).put('w', value)
    if (i % 8 === 0) {
      fdsPeak = Math.max(fdsPeak, fds() - fds0)
      rssPeakMb = Math.max(rssPeakMb, rssMb())
    }
  })
  const roundMs = performance.now() - t2
  // Heavy rounds: 4 x 64 KiB more per partition (256 MiB over 1,000), to see what the memtables hold.
  const heavy = new Uint8Array(64 * 1024).fill(2)
  let heavyRssPeakMb = 0
  let heavyFdsPeak = 0
  const t3 = performance.now()
  for (let round = 0; round < 4; round++) {
    await each(async (i) => {
      await (await store.partition(`p${i}`)).put(`h${round}`, heavy)
      if (i % 8 === 0) {
        heavyFdsPeak = Math.max(heavyFdsPeak, fds() - fds0)
        heavyRssPeakMb = Math.max(heavyRssPeakMb, rssMb())
      }
    })
  }
  const heavyMs = performance.now() - t3
  await store.close()
  process.stdout.write(
    `${JSON.stringify({ openMs, firstAnswerMs, infoMs, fdsAfterInfo, rssAfterInfoMb, roundMs, fdsPeak, rssPeakMb, heavyMs, heavyFdsPeak, heavyRssPeakMb })}\n`,
  )
}
