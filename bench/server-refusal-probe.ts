/**
 * Probe (not a timed test): how fast `cairn serve` refuses a body of a million tiny records
 * (413 BATCH_TOO_LARGE, counted as the body streams in), and how fast `/v1/status` answers on
 * another connection meanwhile. Before the server counted separators as bytes arrived, both took
 * seconds per round; after, the 413 came in well under 100 ms (median over rounds) and the
 * status p90 under 50 ms on an idle 2-core machine. Seven measured rounds after two warm-up
 * rounds; figures per round and medians are printed.
 *
 *   node --import tsx bench/server-refusal-probe.ts
 */
import { Worker } from 'node:worker_threads'
import { startServe } from '../test/helpers/serve-process.js'
import { postOnce } from '../test/helpers/server-helpers.js'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

/**
 * `/v1/status` in a loop on its own thread (started once, warm), so the big upload's client
 * work does not delay it; `between(t0, t1)` gives the latencies of pings that overlapped a window.
 */
function startPinger(url: string): { between: (t0: number, t1: number) => Promise<number[]>; stop: () => Promise<void> } {
  // A query is answered once a ping has started after its window, so every ping that overlapped
  // the window (a slow one included) has finished and is counted.
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const pings = []
    let queries = []
    let stop = false
    const answer = () => {
      const last = pings.length === 0 ? -Infinity : pings[pings.length - 1][0]
      queries = queries.filter(([t0, t1]) => {
        if (last <= t1) return true
        parentPort.postMessage(pings.filter(([start, ms]) => start <= t1 && start + ms >= t0).map((p) => p[1]))
        return false
      })
    }
    parentPort.on('message', (m) => {
      if (m === 'stop') stop = true
      else queries.push(m)
    })
    ;(async () => {
      while (!stop) {
        const t0 = performance.timeOrigin + performance.now()
        const res = await fetch(workerData + '/v1/status')
        await res.text()
        if (res.status !== 200) throw new Error('status ' + res.status)
        pings.push([t0, performance.timeOrigin + performance.now() - t0])
        answer()
        await new Promise((r) => setTimeout(r, 2))
      }
    })()
  `
  const worker = new Worker(source, { eval: true, workerData: url })
  worker.on('error', (e) => {
    throw e
  })
  return {
    between: (t0, t1) =>
      new Promise((resolve) => {
        worker.once('message', (lat: number[]) => resolve(lat))
        worker.postMessage([t0, t1])
      }),
    async stop() {
      worker.postMessage('stop')
      await worker.terminate()
    },
  }
}

const now = () => performance.timeOrigin + performance.now()

async function timed<T>(body: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now()
  const value = await body()
  return { ms: performance.now() - t0, value }
}

const s = await startServe()
try {
  const body = new TextEncoder().encode(`{"records":[${'{"payload":""},'.repeat(999_999)}{"payload":""}]}`)
  // Warm the connection pool and the server's code paths first.
  for (let i = 0; i < 5; i++) await (await fetch(`${s.url}/v1/status`)).text()
  const refusedMs: number[] = []
  const statusP90Ms: number[] = []
  const statusWorstMs: number[] = []
  const pinger = startPinger(s.url)
  try {
    // Two rounds first warm the server's code (JIT) and the pinger; seven measured rounds follow.
    for (let round = -2; round < 7; round++) {
      await new Promise((r) => setTimeout(r, 50))
      const t0 = now()
      const { ms, value: res } = await timed(() => postOnce(s.port, '/v1/partitions/big/records', body))
      const answer = JSON.parse(res.body) as { error: { code: string } }
      // The server drains the rest of the body after answering: keep measuring through it.
      await new Promise((r) => setTimeout(r, 100))
      const statusMs = await pinger.between(t0, now())
      if (res.status !== 413 || answer.error.code !== 'BATCH_TOO_LARGE') throw new Error(`expected 413 BATCH_TOO_LARGE, got ${res.status} ${res.body}`)
      if (round < 0) continue
      refusedMs.push(ms)
      statusP90Ms.push(percentile(statusMs, 90))
      statusWorstMs.push(Math.max(...statusMs))
    }
  } finally {
    await pinger.stop()
  }
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ')
  console.log(
    `1M-record body: 413 after ${list(refusedMs)} ms (best ${Math.min(...refusedMs).toFixed(1)}, median ${median(refusedMs).toFixed(1)}); /v1/status meanwhile p90 per round ${list(statusP90Ms)} ms, worst per round ${list(statusWorstMs)} ms (median ${median(statusWorstMs).toFixed(1)})`,
  )
} finally {
  await s.stop()
}
