/**
 * One contract, three implementations: the real file system, the in-memory one and the
 * fault-injecting wrapper with no faults must agree on every operation the engine uses.
 * Then the in-memory power-loss model and the fault rules, which only the test doubles have.
 */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { FaultFileSystem, type FileSystem, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

const enc = new TextEncoder()
const bytes = (s: string): Uint8Array => enc.encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

function errno(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal((e as NodeJS.ErrnoException).code, code, `expected ${code}, got ${String(e)}`)
    return true
  }
}

async function readAllFrom(fs: FileSystem, path: string): Promise<string> {
  return text(await fs.readFile(path))
}

export function runFileSystemConformance(name: string, makeFs: () => Promise<{ fs: FileSystem; root: string; cleanup(): Promise<void> }>): void {
  describe(`FileSystem conformance: ${name}`, () => {
    let fs: FileSystem
    let root: string
    let cleanup: () => Promise<void>
    let n = 0
    // Each test works in its own directory under root.
    const fresh = async (): Promise<string> => {
      n += 1
      const dir = posix.join(root, `t${n}`)
      await fs.mkdir(dir)
      return dir
    }
    before(async () => {
      ;({ fs, root, cleanup } = await makeFs())
    })
    after(async () => {
      await cleanup()
    })

    test('open modes: createNew fails with EEXIST, read/readWrite fail with ENOENT', async () => {
      const dir = await fresh()
      const p = posix.join(dir, 'f')
      await assert.rejects(fs.open(p, 'read'), errno('ENOENT'))
      await assert.rejects(fs.open(p, 'readWrite'), errno('ENOENT'))
      const h = await fs.open(p, 'createNew')
      await h.write(bytes('hello'), 0)
      await h.close()
      await assert.rejects(fs.open(p, 'createNew'), errno('EEXIST'))
      const r = await fs.open(p, 'read')
      assert.equal(await r.size(), 5)
      await r.close()
      const t = await fs.open(p, 'createOrTruncate')
      assert.equal(await t.size(), 0)
      await t.close()
      assert.equal((await fs.stat(p))?.size, 0)
      await assert.rejects(fs.open(posix.join(dir, 'missing', 'f'), 'createNew'), errno('ENOENT'))
    })

    test('write and read at positions, holes read as zeros, short read only at end of file', async () => {
      const dir = await fresh()
      const h = await fs.open(posix.join(dir, 'f'), 'createNew')
      await h.write(bytes('abcdef'), 0)
      await h.write(bytes('XY'), 2)
      await h.write(bytes('Z'), 9)
      assert.equal(await h.size(), 10)
      const buf = new Uint8Array(16).fill(7)
      const got = await h.read(buf, 1, 16 - 1, 0)
      assert.equal(got, 10)
      assert.equal(buf[0], 7)
      assert.deepEqual([...buf.subarray(1, 11)], [...bytes('abXYef'), 0, 0, 0, ...bytes('Z')])
      const mid = new Uint8Array(3)
      assert.equal(await h.read(mid, 0, 3, 3), 3)
      assert.equal(text(mid), 'Yef')
      assert.equal(await h.read(new Uint8Array(4), 0, 4, 10), 0, 'read at end of file returns 0')
      assert.equal(await h.read(new Uint8Array(4), 0, 4, 100), 0, 'read past end of file returns 0')
      await h.close()
    })

    test('append writes at the end; truncate shrinks and extends with zeros', async () => {
      const dir = await fresh()
      const p = posix.join(dir, 'f')
      const h = await fs.open(p, 'createNew')
      await h.append(bytes('one'))
      await h.append(bytes('two'))
      assert.equal(await readAllFrom(fs, p), 'onetwo')
      await h.truncate(4)
      assert.equal(await h.size(), 4)
      await h.append(bytes('!'))
      assert.equal(await readAllFrom(fs, p), 'onet!')
      await h.truncate(8)
      assert.deepEqual([...(await fs.readFile(p))], [...bytes('onet!'), 0, 0, 0])
      await h.sync()
      await h.close()
      const rw = await fs.open(p, 'readWrite')
      await rw.write(bytes('O'), 0)
      await rw.close()
      assert.equal((await readAllFrom(fs, p)).slice(0, 5), 'Onet!')
    })

    test('readFile returns bytes whose slice() is a copy (a plain Uint8Array, not a Buffer view)', async () => {
      const dir = await fresh()
      const p = posix.join(dir, 'f')
      const h = await fs.open(p, 'createNew')
      await h.write(bytes('abc'), 0)
      await h.close()
      const data = await fs.readFile(p)
      const copy = data.slice()
      copy[0] = 0x7a
      assert.equal(text(data), 'abc')
      assert.equal(Object.getPrototypeOf(data), Uint8Array.prototype)
    })

    test('a read-only handle refuses writes', async () => {
      const dir = await fresh()
      const p = posix.join(dir, 'f')
      await (await fs.open(p, 'createNew')).close()
      const r = await fs.open(p, 'read')
      await assert.rejects(r.write(bytes('x'), 0))
      await r.close()
    })

    test('rename moves a file and replaces an existing target', async () => {
      const dir = await fresh()
      const a = posix.join(dir, 'a')
      const b = posix.join(dir, 'b')
      for (const [p, s] of [
        [a, 'AAA'],
        [b, 'B'],
      ] as const) {
        const h = await fs.open(p, 'createNew')
        await h.write(bytes(s), 0)
        await h.close()
      }
      await fs.rename(a, b)
      assert.equal(await fs.stat(a), undefined)
      assert.equal(await readAllFrom(fs, b), 'AAA')
      await assert.rejects(fs.rename(a, b), errno('ENOENT'))
      assert.deepEqual(await fs.list(dir), ['b'])
    })

    test('link makes a second name for the same contents; EEXIST on an existing target', async () => {
      const dir = await fresh()
      const a = posix.join(dir, 'a')
      const b = posix.join(dir, 'b')
      const h = await fs.open(a, 'createNew')
      await h.write(bytes('shared'), 0)
      await fs.link(a, b)
      await h.append(bytes('!'))
      await h.close()
      assert.equal(await readAllFrom(fs, b), 'shared!')
      await assert.rejects(fs.link(a, b), errno('EEXIST'))
      await assert.rejects(fs.link(posix.join(dir, 'missing'), posix.join(dir, 'c')), errno('ENOENT'))
      await fs.unlink(a)
      assert.equal(await readAllFrom(fs, b), 'shared!', 'unlinking one name keeps the other')
    })

    test('unlink removes a file; ENOENT for a missing one; an open handle keeps working', async () => {
      const dir = await fresh()
      const p = posix.join(dir, 'f')
      const h = await fs.open(p, 'createNew')
      await h.write(bytes('abc'), 0)
      await fs.unlink(p)
      assert.equal(await fs.stat(p), undefined)
      await assert.rejects(fs.unlink(p), errno('ENOENT'))
      await assert.rejects(fs.readFile(p), errno('ENOENT'))
      const buf = new Uint8Array(3)
      assert.equal(await h.read(buf, 0, 3, 0), 3)
      assert.equal(text(buf), 'abc')
      await h.close()
    })

    test('mkdir: existing directory is fine, missing parent needs recursive, existing file is EEXIST', async () => {
      const dir = await fresh()
      await fs.mkdir(dir)
      const deep = posix.join(dir, 'x', 'y', 'z')
      await assert.rejects(fs.mkdir(deep), errno('ENOENT'))
      await fs.mkdir(deep, true)
      await fs.mkdir(deep, true)
      assert.equal((await fs.stat(deep))?.isDirectory, true)
      const file = posix.join(dir, 'file')
      await (await fs.open(file, 'createNew')).close()
      await assert.rejects(fs.mkdir(file), errno('EEXIST'))
      await assert.rejects(fs.mkdir(file, true), errno('EEXIST'))
    })

    test('removeTree removes everything below; missing is fine', async () => {
      const dir = await fresh()
      const sub = posix.join(dir, 'a', 'b')
      await fs.mkdir(sub, true)
      await (await fs.open(posix.join(sub, 'f'), 'createNew')).close()
      await (await fs.open(posix.join(dir, 'a', 'g'), 'createNew')).close()
      await fs.removeTree(posix.join(dir, 'a'))
      assert.equal(await fs.stat(posix.join(dir, 'a')), undefined)
      assert.deepEqual(await fs.list(dir), [])
      await fs.removeTree(posix.join(dir, 'a'))
    })

    test('list is sorted, holds files and directories; ENOENT for a missing directory', async () => {
      const dir = await fresh()
      for (const name of ['b', '00000000000000000010.log', 'a', '00000000000000000002.log', 'B']) {
        await (await fs.open(posix.join(dir, name), 'createNew')).close()
      }
      await fs.mkdir(posix.join(dir, 'sub'))
      assert.deepEqual(await fs.list(dir), ['00000000000000000002.log', '00000000000000000010.log', 'B', 'a', 'b', 'sub'])
      await assert.rejects(fs.list(posix.join(dir, 'missing')), errno('ENOENT'))
    })

    test('stat: size and kind, undefined for a missing path', async () => {
      const dir = await fresh()
      const p = posix.join(dir, 'f')
      assert.equal(await fs.stat(p), undefined)
      assert.equal(await fs.stat(posix.join(dir, 'missing', 'deeper')), undefined)
      const h = await fs.open(p, 'createNew')
      await h.write(new Uint8Array(1234), 0)
      await h.close()
      const { mtimeMs, ...rest } = (await fs.stat(p))!
      assert.deepEqual(rest, { size: 1234, isDirectory: false })
      assert.equal(typeof mtimeMs, 'number')
      assert.equal((await fs.stat(dir))?.isDirectory, true)
    })

    test('stat: mtimeMs is when the file was last written, by the wall clock', async () => {
      const dir = await fresh()
      const p = posix.join(dir, 'f')
      // A second of slack either side: file systems stamp times from a coarse kernel clock.
      const slackMs = 1000
      const before = Date.now()
      const h = await fs.open(p, 'createNew')
      await h.write(bytes('x'), 0)
      const written = (await fs.stat(p))!.mtimeMs
      const after = Date.now()
      assert.ok(written >= before - slackMs && written <= after + slackMs, `mtime ${written} not within [${before}, ${after}]`)
      await h.write(bytes('y'), 1)
      await h.close()
      assert.ok((await fs.stat(p))!.mtimeMs >= written, 'a later write never moves mtime back')
      assert.ok(Number.isFinite((await fs.stat(dir))!.mtimeMs))
    })

    test('sync and syncDir succeed on live files and directories; syncDir of a missing dir fails', async () => {
      const dir = await fresh()
      const h = await fs.open(posix.join(dir, 'f'), 'createNew')
      await h.write(bytes('x'), 0)
      await h.sync()
      await h.close()
      await fs.syncDir(dir)
      await assert.rejects(fs.syncDir(posix.join(dir, 'missing')), errno('ENOENT'))
    })

    test('a closed handle refuses work', async () => {
      const dir = await fresh()
      const h = await fs.open(posix.join(dir, 'f'), 'createNew')
      await h.close()
      await assert.rejects(h.write(bytes('x'), 0))
      await assert.rejects(h.read(new Uint8Array(1), 0, 1, 0))
    })
  })
}

runFileSystemConformance('NodeFileSystem', async () => {
  const tmp: TempDir = await makeTempDir('cairn-fs-')
  return { fs: new NodeFileSystem(), root: tmp.path, cleanup: tmp.cleanup }
})
runFileSystemConformance('MemoryFileSystem', async () => {
  const fs = new MemoryFileSystem()
  await fs.mkdir('/root')
  return { fs, root: '/root', cleanup: async () => undefined }
})
runFileSystemConformance('FaultFileSystem(MemoryFileSystem) without faults', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem())
  await fs.mkdir('/root')
  return { fs, root: '/root', cleanup: async () => undefined }
})

// The strictest outcome the crash model allows (nothing unsynced survives); the random outcomes
// are tested in memory-file-system.crash-model.test.ts.
describe('MemoryFileSystem power loss keeping only what was synced', () => {
  const strict = { keep: 'synced-only' } as const

  async function write(fs: MemoryFileSystem, path: string, s: string, sync: boolean): Promise<void> {
    const h = await fs.open(path, 'createOrTruncate')
    await h.write(bytes(s), 0)
    if (sync) await h.sync()
    await h.close()
  }

  test('unsynced file contents are dropped; synced contents survive as of the last sync', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d')
    await fs.syncDir('/')
    const h = await fs.open('/d/f', 'createNew')
    await fs.syncDir('/d')
    await h.write(bytes('durable'), 0)
    await h.sync()
    await h.append(bytes('-lost'))
    await h.truncate(3)
    await h.append(bytes('XX'))
    await h.close()
    fs.powerLoss(strict)
    assert.equal(text(await fs.readFile('/d/f')), 'durable')
  })

  test('a file whose directory entry was never synced is dropped, even if its contents were', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d')
    await fs.syncDir('/')
    await write(fs, '/d/f', 'synced contents', true)
    fs.powerLoss(strict)
    assert.equal(await fs.stat('/d/f'), undefined)
    assert.deepEqual(await fs.list('/d'), [])
  })

  test('a synced file in a synced dir survives; a never-synced file in a synced dir is empty', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d')
    await fs.syncDir('/')
    await write(fs, '/d/a', 'A', true)
    await write(fs, '/d/b', 'B', false)
    await fs.syncDir('/d')
    fs.powerLoss(strict)
    assert.equal(text(await fs.readFile('/d/a')), 'A')
    assert.equal((await fs.stat('/d/b'))?.size, 0)
  })

  test('a directory made but not synced in its parent is dropped with everything in it', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d/e', true)
    await write(fs, '/d/e/f', 'x', true)
    await fs.syncDir('/d/e')
    await fs.syncDir('/d')
    fs.powerLoss(strict)
    assert.equal(await fs.stat('/d'), undefined)
  })

  test('rename (over an existing file) is not durable until syncDir', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d')
    await fs.syncDir('/')
    await write(fs, '/d/target', 'old', true)
    await fs.syncDir('/d')
    await write(fs, '/d/target.tmp', 'new', true)
    await fs.rename('/d/target.tmp', '/d/target')
    fs.powerLoss(strict)
    assert.equal(text(await fs.readFile('/d/target')), 'old')
    assert.equal(await fs.stat('/d/target.tmp'), undefined)

    await write(fs, '/d/target.tmp', 'new', true)
    await fs.rename('/d/target.tmp', '/d/target')
    await fs.syncDir('/d')
    fs.powerLoss(strict)
    assert.equal(text(await fs.readFile('/d/target')), 'new')
    assert.deepEqual(await fs.list('/d'), ['target'])
  })

  test('unlink and link are not durable until syncDir', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d')
    await fs.syncDir('/')
    await write(fs, '/d/a', 'A', true)
    await fs.syncDir('/d')
    await fs.unlink('/d/a')
    fs.powerLoss(strict)
    assert.equal(text(await fs.readFile('/d/a')), 'A')
    await fs.link('/d/a', '/d/b')
    fs.powerLoss(strict)
    assert.deepEqual(await fs.list('/d'), ['a'])
    await fs.link('/d/a', '/d/b')
    await fs.unlink('/d/a')
    await fs.syncDir('/d')
    fs.powerLoss(strict)
    assert.deepEqual(await fs.list('/d'), ['b'])
    assert.equal(text(await fs.readFile('/d/b')), 'A')
  })

  test('handles opened before power loss fail with EIO; new handles work', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d')
    await fs.syncDir('/')
    const h = await fs.open('/d/f', 'createNew')
    await fs.syncDir('/d')
    await h.write(bytes('abc'), 0)
    await h.sync()
    fs.powerLoss(strict)
    await assert.rejects(h.write(bytes('x'), 0), errno('EIO'))
    await assert.rejects(h.read(new Uint8Array(1), 0, 1, 0), errno('EIO'))
    await assert.rejects(h.sync(), errno('EIO'))
    await assert.rejects(h.size(), errno('EIO'))
    await assert.rejects(h.truncate(0), errno('EIO'))
    const again = await fs.open('/d/f', 'readWrite')
    assert.equal(await again.size(), 3)
    await again.append(bytes('d'))
    await again.close()
    assert.equal(text(await fs.readFile('/d/f')), 'abcd')
  })

  test('power loss twice in a row keeps the same durable state', async () => {
    const fs = new MemoryFileSystem()
    await fs.mkdir('/d')
    await fs.syncDir('/')
    await write(fs, '/d/f', 'abc', true)
    await fs.syncDir('/d')
    fs.powerLoss(strict)
    fs.powerLoss(strict)
    assert.equal(text(await fs.readFile('/d/f')), 'abc')
  })
})

test('MemoryFileSystem stamps mtimes from its clock: writes and truncation of a file, entry changes of a directory', async () => {
  let clock = 1_000
  const fs = new MemoryFileSystem({ now: () => clock })
  await fs.mkdir('/d')
  const h = await fs.open('/d/f', 'createNew')
  assert.equal((await fs.stat('/d/f'))!.mtimeMs, 1_000)
  assert.equal((await fs.stat('/d'))!.mtimeMs, 1_000)
  clock = 2_000
  await h.write(bytes('x'), 0)
  assert.equal((await fs.stat('/d/f'))!.mtimeMs, 2_000)
  assert.equal((await fs.stat('/d'))!.mtimeMs, 1_000, 'writing a file does not change its directory')
  clock = 3_000
  await h.truncate(0)
  assert.equal((await fs.stat('/d/f'))!.mtimeMs, 3_000)
  clock = 4_000
  await fs.rename('/d/f', '/d/g')
  assert.equal((await fs.stat('/d/g'))!.mtimeMs, 3_000, 'a rename keeps the file its time')
  assert.equal((await fs.stat('/d'))!.mtimeMs, 4_000)
  await h.close()
})

describe('FaultFileSystem', () => {
  async function setup(): Promise<FaultFileSystem> {
    const fs = new FaultFileSystem(new MemoryFileSystem())
    await fs.mkdir('/d')
    return fs
  }

  test('counts every operation, of the file system and of its handles', async () => {
    const fs = await setup()
    const start = fs.count
    fs.trace = []
    const h = await fs.open('/d/f', 'createNew')
    await h.write(bytes('x'), 0)
    await h.sync()
    await h.close()
    await fs.stat('/d/f')
    assert.equal(fs.count - start, 5)
    assert.deepEqual(
      fs.trace.map((op) => op.name),
      ['open', 'write', 'sync', 'close', 'stat'],
    )
    assert.deepEqual(
      fs.trace.map((op) => op.index),
      [start + 1, start + 2, start + 3, start + 4, start + 5],
    )
  })

  test('failAt fails exactly that operation once with EIO, and it has no effect', async () => {
    const fs = await setup()
    const h = await fs.open('/d/f', 'createNew')
    fs.failAt(fs.count + 2)
    await h.write(bytes('a'), 0)
    await assert.rejects(h.write(bytes('b'), 1), errno('EIO'))
    await h.write(bytes('c'), 1)
    await h.close()
    assert.equal(text(await fs.readFile('/d/f')), 'ac')
  })

  test('failAt persistent fails that operation and every later one, until heal', async () => {
    const fs = await setup()
    fs.failAt(fs.count + 2, { persistent: true })
    await fs.stat('/d')
    await assert.rejects(fs.stat('/d'), errno('EIO'))
    await assert.rejects(fs.list('/d'), errno('EIO'))
    await assert.rejects(fs.open('/d/f', 'createNew'), errno('EIO'))
    assert.equal(await fs.inner.stat('/d/f'), undefined, 'the failed open created nothing')
    fs.heal()
    assert.deepEqual(await fs.list('/d'), [])
  })

  test('failWhen fails every matching operation until heal; once fails the first only', async () => {
    const fs = await setup()
    const h = await fs.open('/d/f', 'createNew')
    fs.failWhen((op) => op.name === 'sync')
    await h.write(bytes('a'), 0)
    await assert.rejects(h.sync(), errno('EIO'))
    await assert.rejects(h.sync(), errno('EIO'))
    fs.heal()
    await h.sync()
    fs.failWhen((op) => op.name === 'write', { once: true })
    await assert.rejects(h.write(bytes('b'), 1), errno('EIO'))
    await h.write(bytes('b'), 1)
    await h.close()
    assert.equal(text(await fs.readFile('/d/f')), 'ab')
  })

  test('a failed close still releases the inner handle', async () => {
    const inner = new MemoryFileSystem()
    const fs = new FaultFileSystem(inner)
    await fs.mkdir('/d')
    const h = await fs.open('/d/f', 'createNew')
    fs.failWhen((op) => op.name === 'close', { once: true })
    await assert.rejects(h.close(), errno('EIO'))
    await assert.rejects(h.write(bytes('x'), 0), errno('EBADF'))
  })
})
