/**
 * The physical limit for one durable write at a time: 100-byte appends to a file, each followed
 * by fsync (and, separately, fdatasync), via fs/promises (the path cairn's NodeFileSystem takes,
 * through the libuv thread pool) and via the synchronous calls (no thread hop). The variants
 * run interleaved round by round (medians over rounds).
 *
 * A growing file's fdatasync also commits its new size to the file system's journal; cairn's log
 * writes into zeros it preallocated, whose fdatasync flushes data only. So one more variant
 * writes the same way into a pre-zeroed, fsynced file (`fdatasync-sync-prealloc`): the limit a
 * preallocating log, or SQLite's reused WAL, is measured against.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type BenchSystem,
  benchRoundSeconds,
  benchRounds,
  type CaseResult,
  finishCase,
  interleaved,
  removeDir,
  type Row,
  rowFromLoop,
  type Suite,
  tempDir,
  timedLoop,
} from '../harness.js'

const recordBytes = 100

/** Bytes pre-zeroed for the preallocated variant; its writes wrap around within them. */
const preallocatedBytes = 16 * 1024 * 1024

export type FsyncVariant = 'fsync' | 'fdatasync' | 'fsync-sync' | 'fdatasync-sync' | 'fdatasync-sync-prealloc'

/** The name of a variant's row (suites find the limit rows by it). */
export function fsyncLimitName(v: FsyncVariant): string {
  if (v === 'fdatasync-sync-prealloc') return 'write+fdatasync (sync calls, preallocated)'
  return v.endsWith('-sync') ? `write+${v.replace('-sync', '')} (sync calls)` : `write+${v} (fs/promises)`
}

/** One limit variant as a system of an interleaved case: a file in its own temp dir. */
export function fsyncLimitSystem(v: FsyncVariant): () => Promise<BenchSystem> {
  return async () => {
    const data = new Uint8Array(recordBytes).fill(0x62)
    const dir = await tempDir(`fsync-${v}`)
    const path = join(dir, 'limit.bin')
    const name = fsyncLimitName(v)
    if (v.endsWith('-sync') || v === 'fdatasync-sync-prealloc') {
      const fd = openSync(path, 'w')
      const sync = v.startsWith('fdatasync') ? fdatasyncSync : fsyncSync
      // Preallocated: zeros written and fsynced first, then overwritten in place (wrapping
      // around), so no fdatasync has a new file size to journal.
      const preallocated = v === 'fdatasync-sync-prealloc'
      if (preallocated) {
        const zeros = new Uint8Array(1024 * 1024)
        for (let at = 0; at < preallocatedBytes; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at)
        fsyncSync(fd)
      }
      let position = 0
      return {
        name,
        kind: 'limit',
        round: async (seconds) =>
          rowFromLoop(
            name,
            'limit',
            await timedLoop(seconds, 1, () => {
              if (preallocated) {
                writeSync(fd, data, 0, data.length, position)
                position = (position + data.length) % (preallocatedBytes - data.length)
              } else {
                writeSync(fd, data)
              }
              sync(fd)
            }),
          ),
        close: async () => {
          closeSync(fd)
          await removeDir(dir)
        },
      }
    }
    const fh = await open(path, 'w')
    let position = 0
    return {
      name,
      kind: 'limit',
      round: async (seconds) =>
        rowFromLoop(
          name,
          'limit',
          await timedLoop(seconds, 1, async () => {
            await fh.write(data, 0, data.length, position)
            position += data.length
            if (v === 'fdatasync') await fh.datasync()
            else await fh.sync()
          }),
        ),
      close: async () => {
        await fh.close()
        await removeDir(dir)
      },
    }
  }
}

/** The limit rows (medians of interleaved rounds) for `variants`. */
export async function measureFsyncLimit(seconds: number, variants: FsyncVariant[], log?: (line: string) => void): Promise<Row[]> {
  return await interleaved(log, 'opsPerSec', variants.map(fsyncLimitSystem), { seconds })
}

export const fsyncLimitSuite: Suite = {
  id: 'fsync-limit',
  groups: ['log', 'fsync'],
  description: 'raw 100-byte write + fsync / fdatasync per op, the disk limit for one awaited durable write',
  async run(ctx): Promise<CaseResult[]> {
    const rows = await measureFsyncLimit(benchRoundSeconds, ['fsync', 'fdatasync', 'fsync-sync', 'fdatasync-sync', 'fdatasync-sync-prealloc'], ctx.log)
    ctx.shared.set('fsync-limit', rows)
    return [
      finishCase({
        suite: 'fsync-limit',
        name: '100-byte append + sync, 1 writer',
        params: { recordBytes, rounds: benchRounds, roundSeconds: benchRoundSeconds, file: 'growing (append), and preallocated (pre-zeroed, overwritten)' },
        metric: 'opsPerSec',
        rows,
        notes: ['fsync/s here is the ceiling for one writer that awaits each durable write; group commit can exceed it with concurrent writers'],
      }),
    ]
  },
}
