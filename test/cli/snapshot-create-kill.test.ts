/**
 * SIGKILL of `cairn snapshot create` in the middle of its upload, then a retry: nothing was
 * published by the killed run, the retry publishes a snapshot that verifies, and it uploads only
 * the chunks the killed run had not stored.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openObjectStore } from '../../src/objectstore/index.js'
import { Store } from '../../src/partition/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'
import { cairn, cliArgs, repoRoot } from '../helpers/cli-helpers.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

let tmp: TempDir
before(async () => {
  tmp = await makeTempDir('cairn-cli-snap-kill-')
})
after(async () => {
  await tmp.cleanup()
})

async function chunkCount(repoDir: string): Promise<number> {
  let n = 0
  let folders: string[]
  try {
    folders = await readdir(join(repoDir, 'chunks'))
  } catch {
    return 0
  }
  for (const f of folders) n += (await readdir(join(repoDir, 'chunks', f)).catch(() => [])).length
  return n
}

test('a create killed mid-upload publishes nothing; the retry uploads only what is missing and verifies', async () => {
  const data = join(tmp.path, 'store')
  const repoDir = join(tmp.path, 'repo')
  const store = await Store.open(data, { durability: 'none' })
  const p = await store.createPartition('big')
  // Random values: no two chunks alike, so what the killed run stored is exactly what the retry skips.
  for (let i = 0; i < 240; i++) {
    await p.write({ ops: Array.from({ length: 64 }, (_, j) => ({ type: 'put' as const, key: `k${String(i * 64 + j).padStart(8, '0')}`, value: randomBytes(1024) })) })
  }
  await p.flush()
  await store.close()

  const child = spawn(process.execPath, [...cliArgs, 'snapshot', 'create', '--repo', `file://${repoDir}`, '--data', data, '--json'], { cwd: repoRoot, stdio: 'ignore' })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let killedAt = 0
  for (;;) {
    killedAt = await chunkCount(repoDir)
    if (killedAt >= 20 || child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  child.kill('SIGKILL')
  await exited
  assert.ok(killedAt >= 20, `the child was killed mid-upload (after ${killedAt} chunks)`)
  const objects = await openObjectStore(`file://${repoDir}`)
  try {
    const repo = await SnapshotRepository.open(objects)
    assert.equal(await repo.latest('big'), undefined, 'nothing published by the killed run')
    const stored = await chunkCount(repoDir)
    const retry = await cairn(['snapshot', 'create', '--repo', `file://${repoDir}`, '--data', data, '--json'])
    assert.equal(retry.code, 0, retry.stderr)
    const result = JSON.parse(retry.stdout.trim()) as { chunksUploaded: number; chunksTotal: number; lsn: number }
    assert.equal(result.lsn, 240)
    assert.ok(result.chunksTotal > stored, `more chunks than the killed run stored (${result.chunksTotal} > ${stored})`)
    assert.equal(result.chunksUploaded, result.chunksTotal - stored, 'the retry uploaded only the missing chunks')
    const verified = await repo.verify('big')
    assert.equal(verified.ok, true, JSON.stringify(verified.problems))
  } finally {
    await objects.close()
  }
})
