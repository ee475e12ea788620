/**
 * kill -9 of a process uploading a snapshot to a real file:// repository, then a retry: the
 * repository is consistent (the pointer still names the previous snapshot, which verifies), and
 * the retry uploads only the chunks the killed upload did not store.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { FileObjectStore } from '../../src/objectstore/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'
import { collect, hex, keysUnder, makeEntries, sourceOf } from './snapshot-helpers.js'

const child = new URL('./upload-child.ts', import.meta.url).pathname

/** Runs the child and kills it once it has uploaded `after` chunks; false if it finished first. */
async function uploadAndKill(dir: string, after: number): Promise<boolean> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  proc.stderr.on('data', (d) => (err += d))
  let out = ''
  const killed = await new Promise<boolean>((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      out += d
      const counts = [...out.matchAll(/uploaded (\d+)/g)].map((m) => Number(m[1]))
      if (counts.some((n) => n >= after) && proc.exitCode === null) {
        proc.kill('SIGKILL')
        resolve(true)
      }
    })
    proc.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(true) : code === 0 ? resolve(false) : reject(new Error(`child failed (${code}): ${err}`))))
  })
  if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r))
  return killed
}

test('kill -9 during an upload, then a retry: consistent, and only missing chunks are uploaded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-snapshot-kill-'))
  try {
    const store = await FileObjectStore.open(dir)
    const repo = await SnapshotRepository.open(store)
    const a = makeEntries(2000, { tag: 'a' })
    const first = await repo.create('p', sourceOf(a, 10), { writer: { storeId: 'child' } })
    const chunksBefore = (await keysUnder(store, 'chunks/')).length
    assert.equal(await uploadAndKill(dir, 10), true, 'the child finished before it was killed')
    const chunksAfterKill = (await keysUnder(store, 'chunks/')).length
    assert.ok(chunksAfterKill >= chunksBefore + 10)
    // Consistent: the pointer still names the first snapshot, and it verifies.
    const latest = await repo.latest('p')
    assert.equal(latest!.snapshots[0]!.snapshotId, first.snapshotId)
    assert.deepEqual((await repo.verify('p')).problems, [])
    assert.deepEqual(await keysUnder(store, 'partitions/p/snapshots/'), [latest!.snapshots[0]!.manifestKey])
    // The retry uploads exactly what is missing.
    const b = makeEntries(25_000, { tag: 'b', valueBytes: 100 })
    const retry = await repo.create('p', sourceOf(b, 20), { writer: { storeId: 'child' } })
    assert.equal(retry.published, true)
    assert.equal(retry.chunksUploaded, retry.chunksTotal - (chunksAfterKill - chunksBefore))
    assert.deepEqual((await repo.verify('p')).problems, [])
    assert.deepEqual(hex(await collect((await repo.open('p')).entries())), hex(b))
    await store.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
