/**
 * The physical limit for one durable write at a time: 100-byte appends to a file, each followed
 * by fsync (and, separately, fdatasync), via fs/promises (the path cairn's NodeFileSystem takes,
 * through the libuv thread pool) and via the synchronous calls (no thread hop).
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { benchSeconds, type CaseResult, finishCase, type Row, rowFromLoop, type Suite, timedLoop, withTempDir } from '../harness.js'

const recordBytes = 100

export async function measureFsyncLimit(seconds: number, variants: Array<'fsync' | 'fdatasync' | 'fsync-sync' | 'fdatasync-sync'>): Promise<Row[]> {
  const rows: Row[] = []
  const data = new Uint8Array(recordBytes).fill(0x62)
  for (const v of variants) {
    await withTempDir(`fsync-${v}`, async (dir) => {
      const path = join(dir, 'limit.bin')
      if (v.endsWith('-sync')) {
        const fd = openSync(path, 'w')
        const sync = v.startsWith('fdatasync') ? fdatasyncSync : fsyncSync
        try {
          const r = await timedLoop(seconds, 1, () => {
            writeSync(fd, data)
            sync(fd)
          })
          rows.push(rowFromLoop(`write+${v.replace('-sync', '')} (sync calls)`, 'limit', r))
        } finally {
          closeSync(fd)
        }
      } else {
        const fh = await open(path, 'w')
        let position = 0
        try {
          const r = await timedLoop(seconds, 1, async () => {
            await fh.write(data, 0, data.length, position)
            position += data.length
            if (v === 'fdatasync') await fh.datasync()
            else await fh.sync()
          })
          rows.push(rowFromLoop(`write+${v} (fs/promises)`, 'limit', r))
        } finally {
          await fh.close()
        }
      }
    })
  }
  return rows
}

export const fsyncLimitSuite: Suite = {
  id: 'fsync-limit',
  groups: ['log', 'fsync'],
  description: 'raw 100-byte write + fsync / fdatasync per op, the disk limit for one awaited durable write',
  async run(ctx): Promise<CaseResult[]> {
    const rows = await measureFsyncLimit(benchSeconds, ['fsync', 'fdatasync', 'fsync-sync', 'fdatasync-sync'])
    ctx.shared.set('fsync-limit', rows)
    return [
      finishCase({
        suite: 'fsync-limit',
        name: '100-byte append + sync, 1 writer',
        params: { recordBytes, seconds: benchSeconds, file: 'growing (append)' },
        metric: 'opsPerSec',
        rows,
        notes: ['fsync/s here is the ceiling for one writer that awaits each durable write; group commit can exceed it with concurrent writers'],
      }),
    ]
  },
}
