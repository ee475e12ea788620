/**
 * 2,000 partitions on a real file system, written round-robin with values whose sum is many
 * times the store's memory budget: the memtables the budget counts stay under its bound, open
 * partitions under theirs, live memory and open descriptors stay bounded (not growing with
 * the partitions), and after a close and a reopen every write is there. Live memory is measured
 * after a full garbage collection (heap in use plus array buffers), since resident memory also
 * holds garbage V8 has not yet collected and pages it has not returned, which depend on the
 * machine's load more than on the engine (resident memory is printed beside it). Bounds carry a margin;
 * nothing here is timed. The order writers meet partitions is rotated by a seed from CAIRN_SEED
 * (printed on failure).
 *
 * Phase 1 writes every partition twice, round-robin (creating it, then reopening it: the open
 * bound makes every visit a reopen); phase 2 writes a hot set that fits the open bound, so its
 * memtables grow past the budget's memtable half and the budget, not eviction, bounds them.
 * The store lives on tmpfs (/dev/shm) when there is one: the subject is memory and descriptors,
 * and thousands of partition opens each fsyncing a few files would make the run minutes long on
 * a busy disk (durability has its own crash and power-loss tests).
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, test } from 'node:test'
import { Store } from '../../src/partition/index.js'

const mib = 1024 * 1024
const partitionCount = 2000
const wideRounds = 2
const wideValueBytes = 16 * 1024
const hotCount = 96
const hotRounds = 8
const hotValueBytes = 64 * 1024
const writers = 16
const memoryBytesMax = 32 * mib
const openPartitionsMax = 128

const openDescriptors = (): number => readdirSync('/proc/self/fd').length
const rssBytes = (): number => process.memoryUsage().rss
/** A full garbage collection without --expose-gc on the command line (the test runner starts the process). */
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void
/** Bytes the process really holds: the heap in use and array buffers (values, blocks), after a full collection. */
const liveBytes = (): number => {
  collectGarbage()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

function valueFor(partition: number, round: number, bytes: number): Uint8Array {
  const v = new Uint8Array(bytes)
  v.fill((partition * 7 + round) & 0xff)
  new DataView(v.buffer).setUint32(0, partition)
  new DataView(v.buffer).setUint32(4, round)
  return v
}

/** Runs `work(i)` for i in [0, count) on `writers` concurrent workers, starting at `offset` (mod count). */
async function roundRobin(count: number, offset: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < count) await work((offset + next++) % count)
    }),
  )
}

describe('a store of 2,000 partitions under one memory budget', () => {
  test('round-robin writes stay under the budget and the descriptor bound; every write survives a reopen', async () => {
    const seed = Number(process.env.CAIRN_SEED ?? Math.floor(Math.random() * 2 ** 31))
    let state = seed >>> 0
    const random = () => {
      state = (state + 0x6d2b79f5) >>> 0
      let t = state
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
    }
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
    const tmp = await mkdtemp(join(base, 'cairn-many-'))
    try {
      const dir = `${tmp}/store`
      const fdsBefore = openDescriptors()
      const rssBefore = rssBytes()
      const liveBefore = liveBytes()
      const store = await Store.open(dir, { memoryBytesMax, openPartitionsMax, durability: 'none' })
      const max = { memtables: 0, open: 0, fds: 0, rss: 0, live: 0 }
      const sample = () => {
        max.memtables = Math.max(max.memtables, store.memtableBytes)
        max.open = Math.max(max.open, store.openPartitionCount)
        max.fds = Math.max(max.fds, openDescriptors())
        max.rss = Math.max(max.rss, rssBytes())
      }
      for (let round = 0; round < wideRounds; round++) {
        await roundRobin(partitionCount, Math.floor(random() * partitionCount), async (i) => {
          await (await store.ensurePartition(`p${i}`)).put(`r${round}`, valueFor(i, round, wideValueBytes))
          if (i % 8 === 0) sample()
        })
        max.live = Math.max(max.live, liveBytes())
      }
      const listed = (await store.info()).partitions.length
      for (let round = 0; round < hotRounds; round++) {
        await roundRobin(hotCount, Math.floor(random() * hotCount), async (i) => {
          await (await store.partition(`p${i}`)).put(`h${round}`, valueFor(i, round, hotValueBytes))
          sample()
        })
        max.live = Math.max(max.live, liveBytes())
      }
      sample()
      const written = partitionCount * wideRounds * wideValueBytes + hotCount * hotRounds * hotValueBytes
      const context = `seed ${seed}: memtables max ${max.memtables} (bound ${memoryBytesMax / 2}), open max ${max.open}, fds ${fdsBefore} -> ${max.fds}, live ${(liveBefore / mib).toFixed(0)} -> ${(max.live / mib).toFixed(0)} MiB, rss ${(rssBefore / mib).toFixed(0)} -> ${(max.rss / mib).toFixed(0)} MiB, ${(written / mib).toFixed(0)} MiB written`
      console.log(`# ${context}`)
      assert.equal(listed, partitionCount)
      assert.ok(written > 3 * memoryBytesMax && hotCount * hotRounds * hotValueBytes > 2 * (memoryBytesMax / 2), 'the values are many times the budget')
      // The memtable half, plus the writes admitted just before the bound was reached: at most one
      // per writer (a value and its entry's overhead each).
      assert.ok(max.memtables <= memoryBytesMax / 2 + writers * (hotValueBytes + 4096), context)
      assert.ok(max.memtables >= memoryBytesMax / 4, `the hot set never filled the memtables: ${context}`)
      // Open partitions: the bound plus those opening while every open one was busy (one per writer).
      assert.ok(max.open <= openPartitionsMax + writers, context)
      // A partition holds a few descriptors (log segment, tables): bounded by the open partitions, not by 2,000.
      assert.ok(max.fds - fdsBefore <= 4 * (openPartitionsMax + writers), context)
      // Live memory between rounds: the budget (memtables and the block cache) plus the store's own
      // bookkeeping for 2,000 partitions and the open ones' buffers (about 55 MiB measured), below
      // what was written (without the budget the memtables alone would hold all of it).
      assert.ok(max.live - liveBefore <= memoryBytesMax + 48 * mib, context)
      assert.ok(max.live - liveBefore < written, context)
      await store.close()

      const again = await Store.open(dir, { memoryBytesMax, openPartitionsMax })
      assert.equal(again.openPartitionCount, 0, 'opening the store opens no partition')
      assert.equal((await again.info()).partitions.length, partitionCount)
      assert.equal(again.openPartitionCount, 0, 'info opens no partition')
      let checked = 0
      const expect = async (i: number, key: string, value: Uint8Array) => {
        const got = await (await again.partition(`p${i}`)).get(key)
        assert.ok(got !== undefined && Buffer.from(got).equals(value), `seed ${seed}: p${i} ${key} lost`)
        checked++
      }
      await roundRobin(partitionCount, 0, async (i) => {
        for (let round = 0; round < wideRounds; round++) await expect(i, `r${round}`, valueFor(i, round, wideValueBytes))
        if (i < hotCount) for (let round = 0; round < hotRounds; round++) await expect(i, `h${round}`, valueFor(i, round, hotValueBytes))
      })
      assert.equal(checked, partitionCount * wideRounds + hotCount * hotRounds)
      assert.ok(again.openPartitionCount <= openPartitionsMax + writers)
      assert.ok(openDescriptors() - fdsBefore <= 4 * (openPartitionsMax + writers))
      await again.close()
    } catch (e) {
      console.error(`store-many-partitions failed with CAIRN_SEED=${seed}`)
      throw e
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  })
})
