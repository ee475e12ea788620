/**
 * Backup sets: backups share unchanged files by hard links, prune leaves every kept backup
 * verifiable and restorable, and what a crashed create leaves behind is never a backup and is
 * removed by the next create.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import {
  backupSetLockFileName,
  backupStagingDirName,
  createBackup,
  generatedBackupName,
  listBackups,
  pruneBackups,
} from '../../src/checkpoint/backup-set.js'
import { readCheckpointManifest, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { isCairnError } from '../../src/io/errors.js'
import { NodeFileSystem } from '../../src/io/node-file-system.js'
import { Store } from '../../src/partition/store.js'
import { cliArgs, repoRoot } from '../helpers/cli-helpers.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

let tmp: TempDir
before(async () => {
  tmp = await makeTempDir('cairn-backup-set-')
})
after(async () => {
  await tmp.cleanup()
})

/** `n` puts of 1 KiB values to `p` (keys `k<from..>`), then a flush so they are in a table. */
async function fill(store: Store, id: string, from: number, n: number): Promise<void> {
  const p = await store.ensurePartition(id)
  const value = 'v'.repeat(1024)
  for (let i = from; i < from + n; i += 100) {
    const ops = []
    for (let j = i; j < Math.min(from + n, i + 100); j++) ops.push({ type: 'put' as const, key: `k${String(j).padStart(8, '0')}`, value })
    await p.write({ ops })
  }
  await p.flush()
}

async function inode(path: string): Promise<bigint> {
  return (await stat(path, { bigint: true })).ino
}

test('two backups of a store share its unchanged files: same inode, counted as shared', async () => {
  const data = join(tmp.path, 'share-store')
  const root = join(tmp.path, 'share-set')
  const store = await Store.open(data)
  try {
    await fill(store, 'a', 0, 500)
    await fill(store, 'b', 0, 500)
    const first = await createBackup(root, store, { name: 'first' })
    // Only partition b changes: a's table files are the same files in both backups.
    await fill(store, 'b', 500, 500)
    const second = await createBackup(root, store, { name: 'second' })
    assert.equal(second.partitions.a, first.partitions.a)
    assert.ok(second.partitions.b! > first.partitions.b!)

    const inFirst = new Map((await readCheckpointManifest(first.path)).files.map((f) => [f.path, f]))
    const inSecond = (await readCheckpointManifest(second.path)).files
    const sameTables = inSecond.filter((f) => f.path.includes('/a/') && inFirst.get(f.path)?.sha256 === f.sha256)
    assert.ok(sameTables.length > 0, 'partition a has files in both backups')
    for (const f of sameTables) assert.equal(await inode(join(second.path, f.path)), await inode(join(first.path, f.path)), f.path)

    const listing = await listBackups(root)
    assert.deepEqual(
      listing.backups.map((b) => b.name),
      ['first', 'second'],
    )
    const shared = sameTables.reduce((sum, f) => sum + f.bytes, 0)
    for (const b of listing.backups) assert.ok(b.sharedBytes >= shared, `${b.name} shares at least a's files`)
    assert.ok(listing.uniqueBytes < listing.backups[0]!.bytes + listing.backups[1]!.bytes, 'shared files count once')
    assert.equal(listing.backups[1]!.path, second.path)
    assert.deepEqual(listing.backups[1]!.partitions, second.partitions)
  } finally {
    await store.close()
  }
})

test('prune deletes the oldest; every kept backup still verifies and restores to its cut', async () => {
  const data = join(tmp.path, 'prune-store')
  const root = join(tmp.path, 'prune-set')
  const store = await Store.open(data)
  const made = []
  try {
    for (let round = 0; round < 4; round++) {
      await fill(store, 'p', round * 300, 300)
      made.push(await createBackup(root, store, { name: `b${round}` }))
    }
  } finally {
    await store.close()
  }
  const pruned = await pruneBackups(root, 2)
  assert.deepEqual(pruned.deleted, ['b0', 'b1'])
  assert.deepEqual(
    pruned.kept.map((b) => b.name),
    ['b2', 'b3'],
  )
  assert.deepEqual((await readdir(root)).filter((n) => !n.startsWith('.')).sort(), ['b2', 'b3'])
  for (const b of made.slice(2)) {
    const verified = await verifyCheckpoint(b.path, { deep: false })
    assert.deepEqual(verified.problems, [], b.name)
    assert.equal(verified.ok, true)
    const to = join(tmp.path, `prune-restored-${b.name}`)
    await restoreCheckpoint(b.path, to)
    const restored = await Store.open(to, { create: false })
    try {
      const p = await restored.partition('p')
      assert.equal(p.lastLsn, b.partitions.p)
      let count = 0
      for await (const _ of p.scan()) count++
      assert.equal(count, (Number(b.name.slice(1)) + 1) * 300)
    } finally {
      await restored.close()
    }
  }
  // Pruning to more than there are deletes nothing.
  assert.deepEqual((await pruneBackups(root, 5)).deleted, [])
  await assert.rejects(pruneBackups(root, 0), (e) => isCairnError(e, 'INVALID_ARGUMENT'))
})

test('a name is validated, never reused, and generated names sort by time', async () => {
  const data = join(tmp.path, 'names-store')
  const root = join(tmp.path, 'names-set')
  const store = await Store.open(data)
  try {
    await fill(store, 'p', 0, 10)
    await assert.rejects(createBackup(root, store, { name: '../escape' }), (e) => isCairnError(e, 'INVALID_ARGUMENT'))
    await assert.rejects(createBackup(root, store, { name: '.staging' }), (e) => isCairnError(e, 'INVALID_ARGUMENT'))
    await createBackup(root, store, { name: 'same' })
    await assert.rejects(createBackup(root, store, { name: 'same' }), (e) => isCairnError(e, 'TARGET_NOT_EMPTY'))
    const clock = new Date('2026-12-01T20:37:22.123Z')
    const one = await createBackup(root, store, { now: () => clock })
    const two = await createBackup(root, store, { now: () => clock })
    assert.equal(one.name, '20261201t203722123z')
    assert.equal(two.name, '20261201t203722123z-2')
    assert.ok(generatedBackupName(new Date('2026-12-01T20:37:22.124Z'), new Set()) > one.name)
    // Concurrent creates of one process take turns.
    const both = await Promise.all([createBackup(root, store, { name: 'c1' }), createBackup(root, store, { name: 'c2' })])
    assert.deepEqual(
      both.map((b) => b.name),
      ['c1', 'c2'],
    )
  } finally {
    await store.close()
  }
})

test('what a crashed create leaves is never listed, and the next create removes it', async () => {
  const data = join(tmp.path, 'crash-store')
  const root = join(tmp.path, 'crash-set')
  const store = await Store.open(data)
  try {
    await fill(store, 'p', 0, 2000)
    await createBackup(root, store, { name: 'good' })
  } finally {
    await store.close()
  }
  // A real crash: kill the CLI as soon as its checkpoint reports progress.
  const child = spawn(process.execPath, [...cliArgs, 'backup', 'create', '--into', root, '--name', 'killed', '--data', data], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  child.stderr.once('data', () => child.kill('SIGKILL'))
  await exited
  // And the leftovers of one that died mid-checkpoint, made by hand so they surely exist.
  const staged = join(root, backupStagingDirName, 'half')
  await mkdir(join(staged, 'partitions'), { recursive: true })
  await writeFile(join(staged, 'catalog.json'), '{"half":')

  const listed = (await listBackups(root)).backups.map((b) => b.name)
  assert.ok(listed.includes('good'))
  assert.ok(!listed.includes('half'))
  for (const name of listed) assert.equal((await verifyCheckpoint(join(root, name))).ok, true, `${name} is complete`)

  const again = await Store.open(data, { create: false })
  try {
    await createBackup(root, again, { name: 'after' })
  } finally {
    await again.close()
  }
  assert.deepEqual(await readdir(join(root, backupStagingDirName)), [])
  assert.ok((await listBackups(root)).backups.some((b) => b.name === 'after'))
})

test('while another opener holds the set\'s lock, create and prune refuse with STORE_BUSY; list still reads', async () => {
  const data = join(tmp.path, 'busy-store')
  const root = join(tmp.path, 'busy-set')
  const store = await Store.open(data)
  try {
    await fill(store, 'p', 0, 10)
    await createBackup(root, store, { name: 'before' })
    const fs = new NodeFileSystem()
    // The lock is an OS lock on an open file: a second open in this process conflicts like another process's.
    const held = await fs.lockExclusive!(join(root, backupSetLockFileName), new TextEncoder().encode('test\n'))
    assert.ok(held !== undefined)
    try {
      await assert.rejects(createBackup(root, store, { name: 'during' }), (e) => isCairnError(e, 'STORE_BUSY'))
      await assert.rejects(pruneBackups(root, 1), (e) => isCairnError(e, 'STORE_BUSY'))
      assert.deepEqual(
        (await listBackups(root)).backups.map((b) => b.name),
        ['before'],
      )
    } finally {
      await held.release()
    }
    await createBackup(root, store, { name: 'after' })
    assert.deepEqual((await pruneBackups(root, 1)).deleted, ['before'])
  } finally {
    await store.close()
  }
})

test('list and prune of a missing root say so', async () => {
  const missing = join(tmp.path, 'no-such-set')
  await assert.rejects(listBackups(missing), (e) => isCairnError(e, 'STORE_NOT_FOUND'))
  await assert.rejects(pruneBackups(missing, 1), (e) => isCairnError(e, 'STORE_NOT_FOUND'))
})
