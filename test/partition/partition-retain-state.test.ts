/**
 * `Partition.retainState()`: the table files and manifest of the state at its durable LSN, kept
 * on disk while compaction replaces them, until released; a copy of them opens as that state.
 */
import assert from 'node:assert/strict'
import { basename, posix } from 'node:path'
import { test } from 'node:test'
import { atomicWriteFile, MemoryFileSystem } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { LsmTree } from '../../src/state/index.js'
import { decodeManifest, manifestFileName } from '../../src/state/manifest.js'

const text = (b: Uint8Array) => new TextDecoder().decode(b)

async function scanAll(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of it) out.push(`${text(k)}=${text(v)}`)
  return out
}

async function writeKeys(p: Partition, from: number, to: number, value: string): Promise<void> {
  for (let i = from; i < to; i += 50) {
    const ops = []
    for (let j = i; j < Math.min(to, i + 50); j++) ops.push({ type: 'put' as const, key: `k${String(j).padStart(5, '0')}`, value })
    await p.write({ ops })
  }
}

async function waitUntil(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.fail(`never: ${what}`)
}

test('retained state survives compaction until released, and a copy of it is the state at its LSN', async () => {
  const fs = new MemoryFileSystem()
  const store = await Store.open('/data', { fs, memtableBytesMax: 1 << 20 })
  try {
    const p = await store.ensurePartition('p')
    await writeKeys(p, 0, 400, 'a'.repeat(40))
    await p.flush()
    await writeKeys(p, 200, 600, 'b'.repeat(40))
    await p.delete('k00007')
    await p.flush()
    const expected = await scanAll(p.scan())
    const state = p.retainState()
    assert.equal(state.lsn, p.durableLsn)
    assert.equal(state.dir, posix.join(p.dir, 'state'))
    assert.ok(state.files.length >= 2, `two flushes made two tables (${state.files.length})`)
    const manifest = decodeManifest(state.manifest, 'retained')
    assert.equal(manifest.durableLsn, state.lsn)
    assert.deepEqual(
      manifest.tables.map((t) => t.bytes).sort(),
      state.files.map((f) => f.bytes).sort(),
      'the manifest describes exactly the retained files',
    )
    for (const f of state.files) {
      assert.equal(posix.dirname(f.path), state.dir)
      assert.equal((await fs.stat(f.path))?.size, f.bytes)
    }

    // New writes and enough flushes for a compaction of level 0 replace the retained tables...
    for (let round = 0; round < 4; round++) {
      await writeKeys(p, 0, 600, 'c'.repeat(40))
      await p.flush()
    }
    await p.compact()
    const now = p.retainState()
    const stillLive = state.files.filter((f) => now.files.some((g) => g.path === f.path))
    now.release()
    assert.ok(stillLive.length < state.files.length, 'compaction replaced retained tables')
    // ... but they stay on disk, unchanged.
    for (const f of state.files) assert.equal((await fs.stat(f.path))?.size, f.bytes, `${f.path} is kept while retained`)

    // A copy of the retained files and manifest opens as the state at `lsn`.
    await fs.mkdir('/copy')
    for (const f of state.files) await atomicWriteFile(fs, posix.join('/copy', basename(f.path)), await fs.readFile(f.path))
    await atomicWriteFile(fs, posix.join('/copy', manifestFileName), state.manifest)
    const copy = await LsmTree.open({ fs, dir: '/copy' })
    try {
      assert.equal(copy.durableLsn, state.lsn)
      assert.deepEqual(await scanAll(copy.scan({})), expected, 'the copy holds the state at the retained LSN')
    } finally {
      await copy.close()
    }

    state.release()
    state.release()
    const replaced = state.files.filter((f) => !stillLive.includes(f))
    await waitUntil(async () => {
      for (const f of replaced) if ((await fs.stat(f.path)) !== undefined) return false
      return true
    }, 'the released tables are deleted')
    assert.deepEqual(await scanAll(p.scan({ lt: 'k00002' })), ['k00000=' + 'c'.repeat(40), 'k00001=' + 'c'.repeat(40)])
  } finally {
    await store.close()
  }
})
