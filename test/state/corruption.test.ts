/**
 * Damage on disk is a typed error, never a wrong value: a flipped bit in a data block fails the
 * reads that touch it with CORRUPT_TABLE; in the footer, index or bloom filter it fails open with
 * CORRUPT_TABLE; in the manifest with CORRUPT_MANIFEST; an unknown version is UNSUPPORTED_FORMAT.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { crc32 } from '../../src/io/checksum.js'
import { type FileSystem, isCairnError, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { LsmTree, type StateOptions } from '../../src/state/index.js'
import { collect, hex } from '../helpers/state-helpers.js'

const key = (i: number): Uint8Array => Buffer.from(`key-${String(i).padStart(5, '0')}`)
const value = (i: number): Uint8Array => Buffer.from(`value-${i}-${'v'.repeat(i % 50)}`)
const count = 300

const options = (fs: FileSystem, dir: string): StateOptions => ({ fs, dir, blockBytes: 256, autoCompact: false })

async function build(fs: FileSystem, dir: string): Promise<string> {
  const tree = await LsmTree.open(options(fs, dir))
  for (let i = 0; i < count; i++) tree.apply(i + 1, [{ type: 'put', key: key(i), value: value(i) }])
  await tree.flush()
  await tree.close()
  const tables = (await fs.list(dir)).filter((n) => n.endsWith('.sst'))
  assert.equal(tables.length, 1)
  return join(dir, tables[0]!)
}

async function flipBit(fs: FileSystem, path: string, offset: number, bit = 0): Promise<void> {
  const h = await fs.open(path, 'readWrite')
  const b = new Uint8Array(1)
  await h.read(b, 0, 1, offset)
  b[0]! ^= 1 << bit
  await h.write(b, offset)
  await h.sync()
  await h.close()
}

const isCode = (code: string) => (e: unknown) => isCairnError(e) && e.code === code

test('state corruption: a flipped bit in a data block (real disk) fails get and scan with CORRUPT_TABLE', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-state-corrupt-'))
  try {
    const fs = new NodeFileSystem()
    const table = await build(fs, dir)
    await flipBit(fs, table, 40, 3) // inside the first data block (keys key-00000...)
    const tree = await LsmTree.open(options(fs, dir))
    await assert.rejects(tree.get(key(0)), isCode('CORRUPT_TABLE'))
    await assert.rejects(collect(tree.scan()), (e: unknown) => {
      assert.ok(isCairnError(e, 'CORRUPT_TABLE'))
      assert.match(e.message, /\.sst/)
      assert.equal(e.context.offset, 0)
      return true
    })
    // Keys in other blocks are still readable.
    assert.equal(hex((await tree.get(key(count - 1)))!), hex(value(count - 1)))
    await tree.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('state corruption: every single flipped bit in a table gives the right value or CORRUPT_TABLE, never a wrong value', async () => {
  const fs = new MemoryFileSystem()
  const dir = '/s'
  const table = await build(fs, dir)
  const size = (await fs.stat(table))!.size
  let openFailures = 0
  let readFailures = 0
  for (let offset = 0; offset < size; offset += 11) {
    await flipBit(fs, table, offset, offset % 8)
    try {
      let tree: LsmTree | undefined
      try {
        tree = await LsmTree.open(options(fs, dir))
      } catch (e) {
        assert.ok(isCairnError(e, 'CORRUPT_TABLE') || isCairnError(e, 'UNSUPPORTED_FORMAT'), `open at ${offset}: ${String(e)}`)
        openFailures++
        continue
      }
      try {
        const entries = await collect(tree.scan())
        assert.equal(entries.length, count, `offset ${offset}`)
        for (let i = 0; i < count; i++) assert.deepEqual(entries[i], [hex(key(i)), hex(value(i))])
      } catch (e) {
        assert.ok(isCairnError(e, 'CORRUPT_TABLE'), `scan at offset ${offset}: ${String(e)}`)
        readFailures++
      }
      for (let i = 0; i < count; i += 17) {
        try {
          const v: Uint8Array | undefined = await tree.get(key(i))
          assert.equal(v === undefined ? undefined : hex(v), hex(value(i)), `get at offset ${offset}`)
        } catch (e) {
          // A flip in the bloom filter may only make a key look absent if the bloom block's crc missed it: never.
          assert.ok(isCairnError(e, 'CORRUPT_TABLE'), `get at offset ${offset}: ${String(e)}`)
        }
      }
      await tree.close()
    } finally {
      await flipBit(fs, table, offset, offset % 8)
    }
  }
  console.log(`flipped ${Math.ceil(size / 11)} bits: ${openFailures} failed open, ${readFailures} failed scans`)
  assert.ok(openFailures > 0 && readFailures > 0)
})

test('state corruption: footer and index damage fail open with CORRUPT_TABLE; unknown version is UNSUPPORTED_FORMAT', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-state-corrupt-'))
  try {
    const fs = new NodeFileSystem()
    const table = await build(fs, dir)
    const original = await readFile(table)
    const size = original.length
    // footer: the index offset field
    await flipBit(fs, table, size - 64 + 17)
    await assert.rejects(LsmTree.open(options(fs, dir)), isCode('CORRUPT_TABLE'))
    await writeFile(table, original)
    // index block: starts at the offset the footer names
    const indexOffset = original.readDoubleLE(size - 64 + 16)
    await flipBit(fs, table, indexOffset + 6)
    await assert.rejects(LsmTree.open(options(fs, dir)), isCode('CORRUPT_TABLE'))
    await writeFile(table, original)
    // a future format version with a valid footer checksum
    const future = Buffer.from(original)
    future.writeUInt32LE(2, size - 64 + 8)
    future.writeUInt32LE(crc32(future.subarray(size - 64, size - 4)), size - 4)
    await writeFile(table, future)
    await assert.rejects(LsmTree.open(options(fs, dir)), isCode('UNSUPPORTED_FORMAT'))
    await writeFile(table, original)
    const tree = await LsmTree.open(options(fs, dir))
    assert.equal((await collect(tree.scan())).length, count)
    await tree.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('state corruption: a damaged, truncated or missing manifest fails open with CORRUPT_MANIFEST', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-state-corrupt-'))
  try {
    const fs = new NodeFileSystem()
    await build(fs, dir)
    const manifest = join(dir, 'MANIFEST')
    const original = await readFile(manifest)
    await flipBit(fs, manifest, 40, 2)
    await assert.rejects(LsmTree.open(options(fs, dir)), isCode('CORRUPT_MANIFEST'))
    await writeFile(manifest, original.subarray(0, original.length - 3))
    await assert.rejects(LsmTree.open(options(fs, dir)), isCode('CORRUPT_MANIFEST'))
    await rm(manifest)
    await assert.rejects(LsmTree.open(options(fs, dir)), isCode('CORRUPT_MANIFEST'))
    await writeFile(manifest, original)
    // A table the manifest lists must exist.
    const table = (await readdir(dir)).find((n) => n.endsWith('.sst'))!
    const bytes = await readFile(join(dir, table))
    await rm(join(dir, table))
    await assert.rejects(LsmTree.open(options(fs, dir)), isCode('CORRUPT_TABLE'))
    await writeFile(join(dir, table), bytes)
    const tree = await LsmTree.open(options(fs, dir))
    assert.equal((await collect(tree.scan())).length, count)
    await tree.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
