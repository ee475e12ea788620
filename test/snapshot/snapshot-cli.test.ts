/**
 * `cairn snapshot list|show|verify|prune`, run in process against `memory://` repositories (one
 * name per test; every open of a name shares its objects), output and exit codes checked.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { run } from '../../src/cli/run.js'
import { openObjectStore } from '../../src/objectstore/index.js'
import { chunkKey, SnapshotRepository } from '../../src/snapshot/index.js'
import { makeEntries, sourceOf } from './snapshot-helpers.js'

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const out = process.stdout.write
  const err = process.stderr.write
  // Only strings are the command's: under `node --test` the runner streams its own reports
  // through this process's stdout as buffers, and a command that awaits lets them through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (out as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest)
    stdout += chunk
    return true
  }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (err as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest)
    stderr += chunk
    return true
  }) as typeof process.stderr.write
  try {
    const code = await run(['node', 'cairn', ...args])
    return { code, stdout, stderr }
  } finally {
    process.stdout.write = out
    process.stderr.write = err
  }
}

let repoCount = 0
async function seeded(): Promise<{ url: string; repo: SnapshotRepository }> {
  const url = `memory://cli-${process.pid}-${++repoCount}`
  const repo = await SnapshotRepository.open(await openObjectStore(url))
  await repo.create('orders', sourceOf(makeEntries(3000), 10), { writer: { storeId: 's1' } })
  await repo.create('orders', sourceOf(makeEntries(3000, { tag: 'b' }), 20), { writer: { storeId: 's1' } })
  await repo.create('users', sourceOf(makeEntries(500), 7), { writer: { storeId: 's1' } })
  return { url, repo }
}

describe('cairn snapshot', () => {
  test('list shows every partition, newest first; --json one object per partition', async () => {
    const { url } = await seeded()
    const text = await cli('snapshot', 'list', '--repo', url)
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^orders: 2 retained, archived LSN 10, writer s1 \(epoch 1\)$/m)
    assert.match(text.stdout, /^users: 1 retained/m)
    const json = await cli('snapshot', 'list', '--repo', url, '--json')
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.deepEqual(lines.map((l) => l.partition), ['orders', 'users'])
    assert.deepEqual(lines[0].snapshots.map((s: { lsn: number }) => s.lsn), [20, 10])
    const one = await cli('snapshot', 'list', '--repo', url, '--partition', 'users', '--json')
    assert.equal(one.stdout.trim().split('\n').length, 1)
  })

  test('list goes on past a partition whose latest.json is damaged, and exits 1', async () => {
    const { url } = await seeded()
    const store = await openObjectStore(url)
    await store.put('partitions/orders/latest.json', new TextEncoder().encode('not json'))
    const text = await cli('snapshot', 'list', '--repo', url)
    assert.equal(text.code, 1)
    assert.match(text.stdout, /^orders: CORRUPT_SNAPSHOT /m)
    assert.match(text.stdout, /^users: 1 retained/m)
    const json = await cli('snapshot', 'list', '--repo', url, '--json')
    assert.equal(json.code, 1)
    assert.deepEqual(json.stdout.trim().split('\n').map((l) => JSON.parse(l).error?.code ?? 'ok'), ['CORRUPT_SNAPSHOT', 'ok'])
  })

  test('show prints the latest manifest, or the one named', async () => {
    const { url, repo } = await seeded()
    const older = (await repo.list('orders'))[1]!
    const text = await cli('snapshot', 'show', '--repo', url, '--partition', 'orders')
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /lsn=20 /)
    const json = await cli('snapshot', 'show', '--repo', url, '--partition', 'orders', '--snapshot', older.snapshotId, '--json')
    const m = JSON.parse(json.stdout)
    assert.equal(m.lsn, 10)
    assert.equal(m.rootHash, older.rootHash)
    const missing = await cli('snapshot', 'show', '--repo', url, '--partition', 'nope')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /SNAPSHOT_NOT_FOUND/)
    const bad = await cli('snapshot', 'show', '--repo', url, '--partition', 'Not/An/Id')
    assert.equal(bad.code, 2)
  })

  test('verify exits 0 on a sound repository and 1 naming each bad object', async () => {
    const { url, repo } = await seeded()
    const ok = await cli('snapshot', 'verify', '--repo', url)
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /^orders: ok/m)
    const manifest = await repo.manifest('users')
    const store = await openObjectStore(url)
    const damaged = chunkKey(manifest.chunks[0]!.id)
    const body = await store.get(damaged)
    const flipped = Uint8Array.from(body.bytes)
    flipped[flipped.length - 1]! ^= 0xff
    await store.put(damaged, flipped)
    const bad = await cli('snapshot', 'verify', '--repo', url)
    assert.equal(bad.code, 1)
    assert.match(bad.stdout, /^users: 1 problem/m)
    assert.ok(bad.stdout.includes(`corrupt ${damaged}`), bad.stdout)
    assert.match(bad.stderr, /CORRUPT_SNAPSHOT/)
    const json = await cli('snapshot', 'verify', '--repo', url, '--partition', 'users', '--json')
    assert.equal(json.code, 1)
    assert.deepEqual(JSON.parse(json.stdout.trim()).problems.map((p: { key: string; problem: string }) => [p.problem, p.key]), [['corrupt', damaged]])
  })

  test('prune keeps the newest N and collects chunks only the pruned snapshots had', async () => {
    const { url, repo } = await seeded()
    const pruned = await cli('snapshot', 'prune', '--repo', url, '--partition', 'orders', '--keep', '1', '--grace-ms', '0', '--json')
    assert.equal(pruned.code, 0, pruned.stderr)
    const [first, gcLine] = pruned.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(first.kept.length, 1)
    assert.equal(first.manifestsDeleted.length, 1)
    assert.ok(gcLine.gc.chunksDeleted > 0)
    assert.deepEqual((await repo.list('orders')).map((s) => s.lsn), [20])
    const verify = await cli('snapshot', 'verify', '--repo', url)
    assert.equal(verify.code, 0, verify.stdout)
  })
})
