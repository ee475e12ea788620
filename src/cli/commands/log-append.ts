/**
 * `cairn log append <partition> [payload...]`: each payload argument is one record, appended as
 * one atomic batch. Without arguments, one record per stdin line, batched (up to
 * `stdinBatchLinesMax` lines or `stdinBatchBytesMax` bytes per append, a few appends in flight
 * so group commit can share fsyncs). Prints the last LSN once everything is durable.
 */
import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import { CairnError } from '../../io/errors.js'
import { assertPartitionId, checkRecordBytes, type Partition } from '../../partition/index.js'
import { byteLines } from '../byte-lines.js'
import { withStore } from '../open-store.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'

export const stdinBatchLinesMax = 1000
export const stdinBatchBytesMax = 1024 * 1024
export const appendsInFlightMax = 4
export const progressIntervalMs = 1000

export function registerLogAppend(log: Command): void {
  withData(log.command('append').description('append records (arguments, or one per stdin line); prints the last LSN'))
    .argument('<partition>', 'partition id (created if missing)')
    .argument('[payload...]', 'payloads, one record each; none: read stdin lines')
    .action(async (partitionId: string, payloads: string[], options: DataOptions) => {
      assertPartitionId(partitionId)
      await withStore(options.data, false, async (store) => {
        // Created only once there is something to append, so empty input leaves no partition behind.
        const open = () => store.ensurePartition(partitionId)
        if (payloads.length > 0) checkSizes(payloads.map((p) => Buffer.byteLength(p)))
        const lsn = payloads.length > 0 ? await (await open()).append(payloads) : await appendStdin(open)
        await writeLine(String(lsn))
      })
    })
}

interface Progress {
  update(records: number, lsn: number): void
  stop(): void
}

/** A bar on a terminal; elsewhere a plain line to stderr every second (stdout stays clean). */
function progress(): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      { format: 'appending {value} records, last LSN {lsn} ({rate}/s)', stream: process.stderr, hideCursor: true },
    )
    const started = Date.now()
    bar.start(0, 0, { lsn: 0, rate: 0 })
    return {
      update(records, lsn) {
        bar.setTotal(records)
        bar.update(records, { lsn, rate: Math.round((records * 1000) / Math.max(1, Date.now() - started)) })
      },
      stop: () => bar.stop(),
    }
  }
  let last = Date.now()
  return {
    update(records, lsn) {
      if (Date.now() - last < progressIntervalMs) return
      last = Date.now()
      process.stderr.write(`appended ${records} records, last LSN ${lsn}\n`)
    },
    stop() {},
  }
}

/** Refuses an oversized record before anything is created (the log would refuse it after). */
function checkSizes(sizes: number[]): void {
  for (const bytes of sizes) checkRecordBytes(bytes)
}

async function appendStdin(open: () => Promise<Partition>): Promise<number> {
  let partition: Partition | undefined
  const show = progress()
  const inFlight: Promise<number>[] = []
  let batch: Uint8Array[] = []
  let batchBytes = 0
  let records = 0
  let lastLsn = 0
  const settleOldest = async () => {
    lastLsn = Math.max(lastLsn, await inFlight.shift()!)
    show.update(records, lastLsn)
  }
  const flush = async () => {
    if (batch.length === 0) return
    // LSNs are assigned at the call, so batches stay in stdin order however they complete.
    checkSizes(batch.map((line) => line.length))
    partition ??= await open()
    const appending = partition.append(batch)
    appending.catch(() => undefined) // awaited below; avoids an unhandled rejection meanwhile
    inFlight.push(appending)
    records += batch.length
    batch = []
    batchBytes = 0
    if (inFlight.length >= appendsInFlightMax) await settleOldest()
  }
  try {
    for await (const line of byteLines(process.stdin)) {
      batch.push(line)
      batchBytes += line.length
      if (batch.length >= stdinBatchLinesMax || batchBytes >= stdinBatchBytesMax) await flush()
    }
    await flush()
    while (inFlight.length > 0) await settleOldest()
  } finally {
    show.stop()
  }
  if (records === 0) throw new CairnError('INVALID_ARGUMENT', 'nothing to append: pass payloads as arguments or lines on stdin')
  return lastLsn
}
