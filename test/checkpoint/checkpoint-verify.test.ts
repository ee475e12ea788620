/**
 * Strict verification: a flipped byte, a truncation or a deleted file anywhere in a checkpoint
 * (every file in turn, CHECKPOINT.json and the copied active segments included) fails verify
 * naming that file, and restore refuses it. Damage CHECKPOINT.json was updated to match (a
 * file's digest recomputed) is still found by the structure check: in a table block, in the
 * copied active segment (damage there is damage, not a torn tail), or a segment cut short.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { before, describe, test } from 'node:test'
import { checkpoint, checkpointManifestFile, readCheckpointManifest, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { encodeCheckpointManifest } from '../../src/checkpoint/checkpoint-manifest.js'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

const cp = '/backups/cp'
let fs: MemoryFileSystem
let files: string[]
/** The copied active segment of each partition's log (the last segment of its last log). */
let activeSegments: string[]

async function rewrite(path: string, bytes: Uint8Array): Promise<void> {
  const h = await fs.open(path, 'createOrTruncate')
  await h.write(bytes, 0)
  await h.close()
}

/** Damages `file` by `how`, runs `check`, and puts the file back as it was. */
async function damaged(file: string, how: 'flip' | 'truncate' | 'delete', check: () => Promise<void>): Promise<void> {
  const path = `${cp}/${file}`
  const original = await fs.readFile(path)
  if (how === 'delete') await fs.unlink(path)
  else if (how === 'truncate') {
    const h = await fs.open(path, 'readWrite')
    await h.truncate(Math.floor(original.length / 2))
    await h.close()
  } else {
    const bytes = original.slice()
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10
    const h = await fs.open(path, 'readWrite')
    await h.write(bytes.subarray(Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 1), Math.floor(bytes.length / 2))
    await h.close()
  }
  try {
    await check()
  } finally {
    await rewrite(path, original)
  }
}

/** Rewrites `file` with `bytes` and CHECKPOINT.json to match it, runs `check`, puts both back. */
async function damagedAndListed(file: string, bytes: Uint8Array, check: () => Promise<void>): Promise<void> {
  const original = await fs.readFile(`${cp}/${file}`)
  const manifestBytes = await fs.readFile(`${cp}/${checkpointManifestFile}`)
  const manifest = await readCheckpointManifest(cp, { fs })
  const entry = manifest.files.find((f) => f.path === file)!
  entry.bytes = bytes.length
  entry.sha256 = createHash('sha256').update(bytes).digest('hex')
  await rewrite(`${cp}/${file}`, bytes)
  await rewrite(`${cp}/${checkpointManifestFile}`, encodeCheckpointManifest(manifest))
  try {
    await check()
  } finally {
    await rewrite(`${cp}/${file}`, original)
    await rewrite(`${cp}/${checkpointManifestFile}`, manifestBytes)
  }
}

const expectedProblem = { flip: 'checksum', truncate: 'size', delete: 'missing' } as const

describe('verifyCheckpoint', () => {
  before(async () => {
    fs = new MemoryFileSystem({ seed: 5 })
    const store = await Store.open('/data', { fs, segmentBytesMax: 4096, memtableBytesMax: 1024 * 1024 })
    for (const id of ['a', 'b']) {
      const p = await store.ensurePartition(id)
      for (let i = 0; i < 150; i++) await p.put(`k${i % 40}`, `value ${i}`)
      await p.flush()
      for (let i = 0; i < 120; i++) await p.put(`k${i % 40}`, `unflushed ${'x'.repeat(40)} ${i}`)
      await store.rollPartitionLog(id)
      for (let i = 0; i < 30; i++) await p.put(`k${i}`, `tail ${i}`)
    }
    await checkpoint(store, cp)
    await store.close()
    const manifest = await readCheckpointManifest(cp, { fs })
    files = [...manifest.files.map((f) => f.path), checkpointManifestFile]
    const segments = manifest.files.map((f) => f.path).filter((p) => p.endsWith('.log'))
    activeSegments = ['a', 'b'].map((id) => segments.filter((p) => p.startsWith(`partitions/${id}/`)).sort().at(-1)!)
    assert.ok(files.some((f) => f.endsWith('.sst')) && files.some((f) => f.endsWith('MANIFEST')) && files.includes('catalog.json'))
    assert.ok(segments.length > activeSegments.length, 'the checkpoint holds sealed segments too')
    assert.equal((await verifyCheckpoint(cp, { fs })).ok, true)
  })

  for (const how of ['flip', 'truncate', 'delete'] as const) {
    test(`a ${how} of any file fails verify naming it`, async () => {
      for (const file of files) {
        await damaged(file, how, async () => {
          const v = await verifyCheckpoint(cp, { fs })
          assert.equal(v.ok, false, `${how} ${file}`)
          const problem = file === checkpointManifestFile && how !== 'delete' ? 'checksum' : expectedProblem[how]
          assert.ok(
            v.problems.some((p) => p.path === file && p.problem === problem),
            `${how} ${file} is reported as ${problem}: ${JSON.stringify(v.problems)}`,
          )
        })
      }
    })
  }

  test('restore refuses a damaged checkpoint and leaves no target', async () => {
    for (const file of [activeSegments[0]!, files.find((f) => f.endsWith('.sst'))!, 'catalog.json']) {
      await damaged(file, 'flip', async () => {
        await assert.rejects(restoreCheckpoint(cp, '/restored', { fs }), (e: unknown) => e instanceof CairnError && e.code === 'CORRUPT_CHECKPOINT' && e.message.includes(file))
        assert.equal(await fs.stat('/restored'), undefined)
      })
    }
  })

  test('a file CHECKPOINT.json does not list is unexpected', async () => {
    await rewrite(`${cp}/partitions/a/stray`, new Uint8Array([1, 2, 3]))
    try {
      const v = await verifyCheckpoint(cp, { fs })
      assert.deepEqual(v.problems.map((p) => [p.path, p.problem]), [['partitions/a/stray', 'unexpected']])
    } finally {
      await fs.unlink(`${cp}/partitions/a/stray`)
    }
  })

  test('damage whose digest was recomputed is found by the structure check', async () => {
    const table = files.find((f) => f.endsWith('.sst'))!
    const tableBytes = (await fs.readFile(`${cp}/${table}`)).slice()
    tableBytes[100]! ^= 0x01
    await damagedAndListed(table, tableBytes, async () => {
      const v = await verifyCheckpoint(cp, { fs })
      assert.deepEqual(v.problems.map((p) => [p.path, p.problem]), [[table, 'structure']])
    })
    for (const segment of activeSegments) {
      const bytes = (await fs.readFile(`${cp}/${segment}`)).slice()
      assert.ok(bytes.length > 200, 'the copied active segment holds records')
      const flipped = bytes.slice()
      flipped[bytes.length - 3]! ^= 0x01
      await damagedAndListed(segment, flipped, async () => {
        const v = await verifyCheckpoint(cp, { fs })
        assert.ok(v.problems.some((p) => p.path === segment && p.problem === 'structure'), `a flip at the end of ${segment} is damage: ${JSON.stringify(v.problems)}`)
      })
      await damagedAndListed(segment, bytes.subarray(0, bytes.length - 5), async () => {
        const v = await verifyCheckpoint(cp, { fs })
        assert.ok(v.problems.some((p) => p.path === segment && p.problem === 'structure'), `a torn end of ${segment} is damage: ${JSON.stringify(v.problems)}`)
      })
    }
  })

  test('deep verification restores, opens and reads every partition', async () => {
    const v = await verifyCheckpoint(cp, { fs, deep: true })
    assert.deepEqual(v.problems, [])
    assert.deepEqual(v.entries, { a: 40, b: 40 })
    assert.deepEqual((await fs.list('/backups')).sort(), ['cp'], 'the temporary restore is removed')
  })
})
