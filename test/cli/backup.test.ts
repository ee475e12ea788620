/**
 * `cairn backup ...` as a user runs it: create, verify, restore, list and prune through the real
 * CLI, their `--json` shapes and exit codes (1 for a damaged backup, naming the file; 2 for
 * usage), TARGET_NOT_EMPTY, and a store held by a running server (STORE_LOCKED pointing at
 * --server, and --server itself).
 */
import assert from 'node:assert/strict'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { after, before, test } from 'node:test'
import { verifyCheckpoint } from '../../src/checkpoint/index.js'
import { run } from '../../src/cli/index.js'
import { Store } from '../../src/partition/store.js'
import { cairn } from '../helpers/cli-helpers.js'
import { startServe } from '../helpers/serve-process.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

let tmp: TempDir
let data: string
before(async () => {
  tmp = await makeTempDir('cairn-cli-backup-')
  data = join(tmp.path, 'store')
  const store = await Store.open(data)
  try {
    const p = await store.ensurePartition('orders')
    for (let i = 0; i < 30; i++) await p.write({ ops: [{ type: 'put', key: `k${i}`, value: `v${i}` }] })
    await p.flush()
    await p.write({ ops: [{ type: 'put', key: 'late', value: 'in the log only' }] })
    await (await store.ensurePartition('events')).append(['a', 'b', 'c'])
  } finally {
    await store.close()
  }
})
after(async () => {
  await tmp.cleanup()
})

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON fields one by one
function parsed(stdout: string): any {
  return JSON.parse(stdout)
}

test('create DIR --data, verify, restore: --json shapes, exit 0, and the restored store holds the data', async () => {
  const dir = join(tmp.path, 'one')
  const created = await cairn(['backup', 'create', dir, '--data', data, '--json'])
  assert.equal(created.code, 0, created.stderr)
  const made = parsed(created.stdout)
  assert.equal(made.path, dir)
  assert.ok(isAbsolute(made.path))
  assert.deepEqual(made.partitions, { orders: 31, events: 3 })
  for (const field of ['files', 'bytes', 'linkedFiles', 'copiedFiles']) assert.equal(typeof made[field], 'number', field)
  assert.equal(typeof made.createdAt, 'string')

  const verified = await cairn(['backup', 'verify', dir, '--json'])
  assert.equal(verified.code, 0, verified.stderr)
  const report = parsed(verified.stdout)
  assert.equal(report.ok, true)
  assert.deepEqual(report.problems, [])
  assert.deepEqual(report.partitions, { orders: 31, events: 3 })
  const plain = await cairn(['backup', 'verify', dir, '--deep'])
  assert.equal(plain.code, 0, plain.stderr)
  assert.match(plain.stdout, /^ok: \d+ files/)

  const to = join(tmp.path, 'restored')
  const restored = await cairn(['backup', 'restore', dir, '--to', to, '--json'])
  assert.equal(restored.code, 0, restored.stderr)
  assert.deepEqual(parsed(restored.stdout).partitions, { orders: 31, events: 3 })
  const got = await cairn(['kv', 'get', 'orders', 'late', '--data', to])
  assert.equal(got.code, 0, got.stderr)
  assert.equal(got.stdout, 'in the log only')

  // Neither create nor restore writes into a non-empty directory.
  const again = await cairn(['backup', 'create', dir, '--data', data])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /TARGET_NOT_EMPTY/)
  const over = await cairn(['backup', 'restore', dir, '--to', to, '--json'])
  assert.equal(over.code, 1)
  assert.equal(parsed(over.stderr).error.code, 'TARGET_NOT_EMPTY')
})

test('verify exits 1 naming the damaged file', async () => {
  const dir = join(tmp.path, 'damaged')
  assert.equal((await cairn(['backup', 'create', dir, '--data', data])).code, 0)
  // The largest file: its bytes are somewhere a flipped byte cannot go unnoticed.
  const files: Array<{ path: string; size: number }> = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.name !== 'CHECKPOINT.json') files.push({ path: p, size: (await stat(p)).size })
    }
  }
  await walk(dir)
  const victim = files.sort((a, b) => b.size - a.size)[0]!
  // The backup's file may be a hard link to the live store's: replace it by a damaged copy, so
  // the source is untouched (as a bit flip on the backup's disk would leave it).
  const bytes = Buffer.from(await readFile(victim.path))
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff
  await rm(victim.path)
  await writeFile(victim.path, bytes)
  const relative = victim.path.slice(dir.length + 1)

  const plain = await cairn(['backup', 'verify', dir])
  assert.equal(plain.code, 1)
  assert.match(plain.stderr, /CORRUPT_CHECKPOINT/)
  assert.ok(plain.stderr.includes(relative), plain.stderr)
  assert.ok(plain.stdout.includes(relative), plain.stdout)
  const asJson = await cairn(['backup', 'verify', dir, '--json'])
  assert.equal(asJson.code, 1)
  const report = parsed(asJson.stdout)
  assert.equal(report.ok, false)
  assert.ok(report.problems.some((p: { path: string }) => p.path === relative), asJson.stdout)
  assert.equal(parsed(asJson.stderr).error.code, 'CORRUPT_CHECKPOINT')
})

test('usage errors exit 2', async () => {
  const root = join(tmp.path, 'usage-set')
  // One through a child process; the rest through run() in this process (they fail before any I/O).
  const spawned = await cairn(['backup', 'create', '--data', data])
  assert.equal(spawned.code, 2, spawned.stderr)
  const cases: string[][] = [
    ['backup', 'create', join(tmp.path, 'x'), '--into', root, '--data', data],
    ['backup', 'create', join(tmp.path, 'x'), '--name', 'n', '--data', data],
    ['backup', 'create', '--into', root, '--name', 'Bad/Name', '--data', data],
    ['backup', 'create', '--server', 'http://127.0.0.1:1', '--data', data],
    ['backup', 'create', join(tmp.path, 'x'), '--token', 't', '--data', data],
    ['backup', 'verify'],
    ['backup', 'restore', join(tmp.path, 'one')],
    ['backup', 'list'],
    ['backup', 'prune', '--into', root],
    ['backup', 'prune', '--into', root, '--keep', '0'],
  ]
  for (const args of cases) assert.equal(await quietly(() => run(['node', 'cairn', ...args])), 2, args.join(' '))
  assert.deepEqual(await readdir(tmp.path).then((names) => names.filter((n) => n === 'x' || n === 'usage-set')), [], 'a usage error creates nothing')
})

/** Runs `fn` with stderr swallowed (commander prints usage errors there). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stderr.write
  process.stderr.write = (() => true) as typeof process.stderr.write
  try {
    return await fn()
  } finally {
    process.stderr.write = write
  }
}

test('backup sets: create --into, list and prune, with their --json shapes', async () => {
  const root = join(tmp.path, 'set')
  const names = []
  for (const name of ['mon', 'tue']) {
    const r = await cairn(['backup', 'create', '--into', root, '--name', name, '--data', data, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const made = parsed(r.stdout)
    assert.equal(made.name, name)
    assert.equal(made.path, join(root, name))
    names.push(made.name)
  }
  const generated = await cairn(['backup', 'create', '--into', root, '--data', data])
  assert.equal(generated.code, 0, generated.stderr)
  assert.match(generated.stdout, /^backup \d{8}t\d{9}z at /)

  const listed = await cairn(['backup', 'list', '--into', root, '--json'])
  assert.equal(listed.code, 0, listed.stderr)
  const listing = parsed(listed.stdout)
  assert.deepEqual(Object.keys(listing).sort(), ['backups', 'others', 'root', 'uniqueBytes'])
  assert.equal(listing.backups.length, 3)
  assert.deepEqual(listing.backups.slice(0, 2).map((b: { name: string }) => b.name), names)
  const first = listing.backups[0]
  assert.deepEqual(Object.keys(first).sort(), ['bytes', 'createdAt', 'files', 'name', 'partitions', 'path', 'sharedBytes'])
  assert.deepEqual(first.partitions, { orders: 31, events: 3 })
  assert.ok(first.sharedBytes > 0, 'unchanged files are shared')
  const pruned = await cairn(['backup', 'prune', '--into', root, '--keep', '2', '--json'])
  assert.equal(pruned.code, 0, pruned.stderr)
  const result = parsed(pruned.stdout)
  assert.deepEqual(result.deleted, ['mon'])
  assert.equal(result.kept.length, 2)
  for (const b of result.kept) assert.equal((await verifyCheckpoint(b.path)).ok, true, b.name)
  const plain = await cairn(['backup', 'list', '--into', root])
  assert.match(plain.stdout, /^2 backups in /)
  assert.match(plain.stdout, /\n {2}tue {2}\S+ {2}\d+ files/)

  const missing = await cairn(['backup', 'list', '--into', join(tmp.path, 'nothing-here')])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /STORE_NOT_FOUND/)
})

test('a store a server holds: STORE_LOCKED points at --server, and --server makes the backup', async () => {
  const root = join(tmp.path, 'served-backups')
  const served = await startServe(['--backup-dir', root], { env: { CAIRN_TOKEN: 'tok' } })
  try {
    const auth = { authorization: 'Bearer tok', 'content-type': 'application/json' }
    await fetch(`${served.url}/v1/partitions/p/records`, { method: 'POST', headers: auth, body: JSON.stringify({ records: [{ payload: 'x' }] }) })

    const locked = await cairn(['backup', 'create', join(tmp.path, 'locked'), '--data', served.data])
    assert.equal(locked.code, 1)
    assert.match(locked.stderr, /STORE_LOCKED/)
    assert.match(locked.stderr, /--server URL/)

    const denied = await cairn(['backup', 'create', '--server', served.url, '--json'], { env: { CAIRN_TOKEN: '' } })
    assert.equal(denied.code, 1)
    assert.equal(parsed(denied.stderr).error.code, 'UNAUTHORIZED')

    const made = await cairn(['backup', 'create', '--server', served.url, '--name', 'viaserver', '--token', 'tok', '--json'])
    assert.equal(made.code, 0, made.stderr)
    const answer = parsed(made.stdout)
    assert.equal(answer.name, 'viaserver')
    assert.equal(answer.path, join(root, 'viaserver'))
    assert.deepEqual(answer.partitions, { p: 1 })

    const dup = await cairn(['backup', 'create', '--server', served.url, '--name', 'viaserver', '--token', 'tok'])
    assert.equal(dup.code, 1)
    assert.match(dup.stderr, /TARGET_NOT_EMPTY/)

    const into = await cairn(['backup', 'create', '--into', root, '--server', served.url], { env: { CAIRN_TOKEN: 'tok' } })
    assert.equal(into.code, 0, into.stderr)
    const elsewhere = await cairn(['backup', 'create', '--into', join(tmp.path, 'other-root'), '--server', served.url], { env: { CAIRN_TOKEN: 'tok' } })
    assert.equal(elsewhere.code, 2)
    assert.match(elsewhere.stderr, /--backup-dir/)

    const listed = parsed((await cairn(['backup', 'list', '--into', root, '--json'])).stdout)
    assert.ok(listed.backups.length >= 2)
    assert.equal((await cairn(['backup', 'verify', answer.path])).code, 0)
  } finally {
    assert.equal(await served.stop(), 0, served.stderr())
  }
})
