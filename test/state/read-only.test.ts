/**
 * Read-only open of a tree another process owns: it writes nothing, refuses what would write,
 * and while the owner compacts (deleting the tables it replaced) it still opens a state one
 * manifest of the owner described, reading it through descriptors that keep deleted files
 * readable.
 */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import { test } from 'node:test'
import { CairnError, type FileHandle, type FileSystem, MemoryFileSystem, NodeFileSystem, type OpenMode } from '../../src/io/index.js'
import { LsmTree, type StateOp } from '../../src/state/index.js'
import { readOnlyOpenAttemptsMax } from '../../src/state/tree-open.js'
import { withTempDir } from '../helpers/temp-dir.js'
import { collect, TestLog } from './helpers.js'

const b = (s: string): Uint8Array => Buffer.from(s)
const key = (i: number): Uint8Array => b(`k${String(i).padStart(5, '0')}`)
const writerOptions = { blockBytes: 256, memtableBytesMax: 8 * 1024, tableBytesTarget: 4 * 1024, level0TableCountTrigger: 2, level1BytesMax: 16 * 1024, levelBytesMultiplier: 2 }

/** Every file under `dir` with its bytes, to compare a directory before and after. */
async function dirImage(fs: FileSystem, dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const name of (await fs.list(dir)).sort()) out.set(name, Buffer.from(await fs.readFile(posix.join(dir, name))).toString('hex'))
  return out
}

async function writeSome(tree: LsmTree, log: TestLog, round: number, count = 60): Promise<void> {
  for (let i = 0; i < count; i++) {
    const k = (round * 37 + i * 11) % 400
    const ops: StateOp[] =
      i % 17 === 5
        ? [{ type: 'deleteRange', start: key(k), end: key(k + 9) }]
        : i % 7 === 3
          ? [{ type: 'delete', key: key(k) }]
          : [{ type: 'put', key: key(k), value: b(`r${round}-${i}`) }]
    tree.apply(log.append(ops), ops)
  }
}

test('read-only open writes nothing (no cleanup, no manifest) and refuses flush, compaction and bulk load', async () => {
  const fs = new MemoryFileSystem()
  const log = new TestLog()
  const writer = await LsmTree.open({ fs, dir: '/s', ...writerOptions, autoCompact: false })
  for (let r = 0; r < 4; r++) {
    await writeSome(writer, log, r)
    await writer.flush()
  }
  await writer.close()
  // What an owner's open would clean up: a temp file and an unreferenced table.
  for (const name of ['000000000999.sst', '000000000998.sst.tmp']) {
    const h = await fs.open(`/s/${name}`, 'createOrTruncate')
    await h.write(b('left by a crash'), 0)
    await h.close()
  }
  const before = await dirImage(fs, '/s')
  const ro = await LsmTree.open({ fs, dir: '/s', readOnly: true })
  assert.equal(ro.readOnly, true)
  assert.equal(ro.durableLsn, log.lsn)
  assert.deepEqual(await collect(ro.scan()), log.modelAt(log.lsn).entries())
  // The owner replays its log into memory: apply works, flushing does not.
  const ops: StateOp[] = [{ type: 'put', key: b('zz'), value: b('mem') }]
  ro.apply(log.append(ops), ops)
  assert.equal(Buffer.from((await ro.get(b('zz')))!).toString(), 'mem')
  assert.equal(ro.needsFlush(), false)
  for (const attempt of [() => ro.flush(), () => ro.flushFrozen(), () => ro.compact({ full: true }), () => ro.bulkLoad([], 1)]) {
    await assert.rejects(attempt(), (e: unknown) => e instanceof CairnError && e.code === 'READ_ONLY' && /read-only/.test(e.message))
  }
  const retained = ro.retainVersion()
  retained.release()
  await ro.close()
  assert.deepEqual(await dirImage(fs, '/s'), before, 'the directory is byte for byte as it was')
})

test('read-only open of a state the owner has not created yet is empty and creates nothing', async () => {
  const fs = new MemoryFileSystem()
  await fs.mkdir('/store')
  const ro = await LsmTree.open({ fs, dir: '/store/p/state', readOnly: true })
  assert.equal(ro.durableLsn, 0)
  assert.deepEqual(await collect(ro.scan()), [])
  await ro.close()
  assert.deepEqual(await fs.list('/store'), [])
})

/** A file system whose next read-open of a table file first runs `before` (the owner compacting in between). */
class RacingFileSystem {
  constructor(
    readonly inner: FileSystem,
    public before: (() => Promise<void>) | undefined,
    readonly once: boolean,
  ) {}

  wrap(): FileSystem {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === 'open') {
          return async (path: string, mode: OpenMode): Promise<FileHandle> => {
            const hook = this.before
            if (hook !== undefined && mode === 'read' && path.endsWith('.sst')) {
              if (this.once) this.before = undefined
              await hook()
            }
            return target.open(path, mode)
          }
        }
        const v = Reflect.get(target, prop, receiver) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  }
}

test('read-only open retries when the owner compacts the tables away between its manifest read and the table open', async () => {
  const fs = new MemoryFileSystem()
  const log = new TestLog()
  const writer = await LsmTree.open({ fs, dir: '/s', ...writerOptions, autoCompact: false })
  for (let r = 0; r < 3; r++) {
    await writeSome(writer, log, r)
    await writer.flush()
  }
  const firstTables = (await fs.list('/s')).filter((n) => n.endsWith('.sst'))
  const racing = new RacingFileSystem(
    fs,
    async () => {
      await writeSome(writer, log, 9)
      await writer.flush()
      await writer.compact({ full: true })
      await writer.idle()
    },
    true,
  )
  const ro = await LsmTree.open({ fs: racing.wrap(), dir: '/s', readOnly: true })
  const now = (await fs.list('/s')).filter((n) => n.endsWith('.sst'))
  assert.ok(firstTables.some((n) => !now.includes(n)), 'the owner deleted a table the first manifest named')
  assert.equal(ro.durableLsn, log.lsn)
  assert.deepEqual(await collect(ro.scan()), log.modelAt(ro.durableLsn).entries())
  await ro.close()

  // An owner that compacts before every table open: the open gives up with a typed error.
  const always = new RacingFileSystem(
    fs,
    async () => {
      await writeSome(writer, log, 10)
      await writer.flush()
      await writer.compact({ full: true })
      await writer.idle()
    },
    false,
  )
  await assert.rejects(
    LsmTree.open({ fs: always.wrap(), dir: '/s', readOnly: true }),
    (e: unknown) => e instanceof CairnError && e.code === 'READ_ONLY' && /retry/.test(e.message) && e.context.attempts === readOnlyOpenAttemptsMax,
  )
  await writer.close()
})

/** The owner writes and compacts in a loop while read-only trees open, read, and close. */
async function writerVersusReaders(fs: FileSystem, dir: string, opens: number): Promise<void> {
  const log = new TestLog()
  const writer = await LsmTree.open({ fs, dir, ...writerOptions })
  let stop = false
  const writing = (async () => {
    for (let round = 0; !stop; round++) {
      await writeSome(writer, log, round, 40)
      await writer.flush()
      if (round % 3 === 2) await writer.compact({ full: true })
      else await writer.compact()
    }
  })()
  try {
    for (let i = 0; i < opens; i++) {
      const ro = await LsmTree.open({ fs, dir, readOnly: true })
      try {
        const expected = log.modelAt(ro.durableLsn).entries()
        assert.deepEqual(await collect(ro.scan()), expected, `open ${i} at lsn ${ro.durableLsn}`)
        // Read again while the owner goes on deleting what this version holds.
        await new Promise((resolve) => setImmediate(resolve))
        assert.deepEqual(await collect(ro.scan({ reverse: true })), expected.slice().reverse(), `open ${i}, second read`)
      } finally {
        await ro.close()
      }
    }
  } finally {
    stop = true
    await writing
    await writer.close()
  }
}

test('read-only opens beside an owner compacting in a loop always see a consistent state (memory file system)', async () => {
  await writerVersusReaders(new MemoryFileSystem(), '/s', 60)
})

test('read-only opens beside an owner compacting in a loop always see a consistent state (real file system)', async () => {
  await withTempDir((dir) => writerVersusReaders(new NodeFileSystem(), posix.join(dir, 'state'), 40))
})
