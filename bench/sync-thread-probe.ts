/**
 * Issue 12, item 3: can a lone durable write be acknowledged near the blocking write + fdatasync
 * limit without blocking the event loop? Compares, interleaved round by round (medians), one
 * writer doing 100-byte write + fdatasync on a file in the temp dir through:
 * - blocking calls (writeSync + fdatasyncSync: the limit; the event loop stands still meanwhile),
 * - fs/promises (the libuv thread pool: what NodeFileHandle.sync does today, after a blocking
 *   writeSync for small writes, as the engine does),
 * - a dedicated sync thread (a worker blocked in Atomics.wait on a SharedArrayBuffer, woken with
 *   Atomics.notify; it runs fdatasyncSync on the shared descriptor and wakes the main thread,
 *   which waits with Atomics.waitAsync), bypassing the thread-pool queue.
 *
 *   node --import tsx bench/sync-thread-probe.ts   (CAIRN_AB_ROUNDS, default 5; CAIRN_AB_SECONDS, default 1)
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { median, removeDir, tempDir } from './harness.js'

const rounds = Number(process.env.CAIRN_AB_ROUNDS ?? 5)
const seconds = Number(process.env.CAIRN_AB_SECONDS ?? 1)
const data = new Uint8Array(100).fill(0x62)

/** Slot 0: 0 idle, 1 request, 2 done; slot 1: the fd; slot 2: 0 or the errno of a failed sync. */
const workerSource = `
const { workerData } = require('node:worker_threads')
const { fdatasyncSync } = require('node:fs')
const s = new Int32Array(workerData)
for (;;) {
  Atomics.wait(s, 0, 0)
  if (Atomics.load(s, 0) !== 1) continue
  try { fdatasyncSync(s[1]); s[2] = 0 } catch (e) { s[2] = -(e.errno ?? 5) }
  Atomics.store(s, 0, 2)
  Atomics.notify(s, 0)
}
`

const shared = new Int32Array(new SharedArrayBuffer(12))
const worker = new Worker(workerSource, { eval: true, workerData: shared.buffer })
worker.unref()

/** `Atomics.waitAsync` (Node >= 16; not in this project's TypeScript lib). */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync

async function threadSync(fd: number): Promise<void> {
  shared[1] = fd
  Atomics.store(shared, 0, 1)
  Atomics.notify(shared, 0)
  const w = waitAsync(shared, 0, 1)
  if (w.async) await w.value
  if (shared[2] !== 0) throw new Error(`fdatasync failed: errno ${shared[2]}`)
  Atomics.store(shared, 0, 0)
}

type Variant = 'blocking' | 'thread pool' | 'sync thread'
const variants: Variant[] = ['blocking', 'thread pool', 'sync thread']

async function round(v: Variant, dir: string): Promise<{ perSec: number; loopStallMs: number }> {
  const path = join(dir, `${v.replace(' ', '-')}.bin`)
  const fh = await open(path, 'w')
  const fd = v === 'thread pool' ? fh.fd : openSync(path, 'r+')
  let position = 0
  let n = 0
  // The event loop's responsiveness: a 1 ms timer's worst lateness while the writer runs.
  let last = performance.now()
  let worst = 0
  const tick = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last - 1)
    last = now
  }, 1)
  const start = performance.now()
  while (performance.now() - start < seconds * 1000) {
    writeSync(fd, data, 0, data.length, position)
    position += data.length
    if (v === 'blocking') {
      fdatasyncSync(fd)
      // Let the timer run between writes, as an event loop serving other work would.
      if (n % 16 === 0) await new Promise<void>((r) => setImmediate(r))
    } else if (v === 'thread pool') await fh.datasync()
    else await threadSync(fd)
    n++
  }
  const wall = (performance.now() - start) / 1000
  clearInterval(tick)
  if (fd !== fh.fd) closeSync(fd)
  await fh.close()
  return { perSec: n / wall, loopStallMs: worst }
}

const dir = await tempDir('sync-thread')
const results = new Map<Variant, Array<{ perSec: number; loopStallMs: number }>>(variants.map((v) => [v, []]))
try {
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
      const x = await round(v, dir)
      results.get(v)!.push(x)
      console.log(`round ${r + 1} ${v.padEnd(11)} ${Math.round(x.perSec)}/s, worst timer lateness ${x.loopStallMs.toFixed(1)} ms`)
    }
  }
} finally {
  await removeDir(dir)
}
const limit = median(results.get('blocking')!.map((x) => x.perSec))
console.log(`\nmedians of ${rounds} interleaved rounds of ${seconds} s`)
console.log('| variant | writes+fdatasync/s | ÷ blocking | median of per-round ÷ blocking | worst timer lateness (median), ms |\n|---|---:|---:|---:|---:|')
for (const v of variants) {
  const xs = results.get(v)!
  const per = median(xs.map((x) => x.perSec))
  const roundRatio = median(xs.map((x, i) => x.perSec / results.get('blocking')![i]!.perSec))
  console.log(`| ${v} | ${Math.round(per)} | ${(per / limit).toFixed(2)}x | ${roundRatio.toFixed(2)}x | ${median(xs.map((x) => x.loopStallMs)).toFixed(1)} |`)
}
