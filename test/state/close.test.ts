/**
 * Closing the tree: reads in flight finish before their file handles close (a descriptor number
 * reused by another file could otherwise be read), and reads after close, including scans that
 * were started before it, fail with CLOSED.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, type FileHandle, type FileSystem, MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(7, '0')}`)
const isClosed = (e: unknown) => e instanceof CairnError && e.code === 'CLOSED'

/** A file system whose table reads can be held, logging when reads end and handles close. */
function gatedFs(): { fs: FileSystem; events: string[]; hold(): () => void } {
  const mem = new MemoryFileSystem()
  const events: string[] = []
  let gate: Promise<void> | undefined
  const wrap = (h: FileHandle): FileHandle =>
    new Proxy(h, {
      get(target, prop) {
        if (prop === 'read') {
          return async (buffer: Uint8Array, offset: number, length: number, position: number) => {
            if (gate !== undefined && target.path.endsWith('.sst')) await gate
            try {
              return await target.read(buffer, offset, length, position)
            } finally {
              events.push(`read-end ${target.path}`)
            }
          }
        }
        if (prop === 'close') {
          return async () => {
            events.push(`close ${target.path}`)
            await target.close()
          }
        }
        const v = Reflect.get(target, prop) as unknown
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
  const fs = new Proxy(mem, {
    get(target, prop) {
      if (prop === 'open') return async (path: string, mode: 'read' | 'readWrite' | 'createNew') => wrap(await target.open(path, mode as never))
      const v = Reflect.get(target, prop) as unknown
      return typeof v === 'function' ? v.bind(target) : v
    },
  }) as FileSystem
  return {
    fs,
    events,
    hold() {
      let release!: () => void
      gate = new Promise((resolve) => (release = resolve))
      return () => {
        gate = undefined
        release()
      }
    },
  }
}

async function filledTree(fs: FileSystem): Promise<LsmTree> {
  // A tiny cache: reads go to the file.
  const tree = await LsmTree.open({ fs, dir: '/s', blockBytes: 256, blockCacheBytesMax: 1, autoCompact: false })
  for (let i = 0; i < 2000; i++) tree.apply(i + 1, [{ type: 'put', key: key(i), value: Buffer.from(`v${i}`) }])
  await tree.flush()
  return tree
}

test('state close: a point read in flight completes before its table handle is closed', async () => {
  const g = gatedFs()
  const tree = await filledTree(g.fs)
  const release = g.hold()
  const reading = tree.get(key(1234))
  const closing = tree.close()
  // Let close run as far as it can while the read is held.
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
  release()
  const value = await reading.then(
    (v) => v,
    (e: unknown) => e,
  )
  await closing
  const readEnd = g.events.findIndex((e) => e.startsWith('read-end') && e.endsWith('.sst'))
  const closed = g.events.findIndex((e) => e.startsWith('close') && e.endsWith('.sst'))
  assert.ok(readEnd >= 0 && closed >= 0, g.events.join('\n'))
  assert.ok(readEnd < closed, `the table was closed before the read ended: ${g.events.join(', ')}`)
  // The read either answers correctly or says the tree closed; never wrong data, never EBADF.
  if (value instanceof Error) assert.ok(isClosed(value), String(value))
  else assert.equal(Buffer.from(value as Uint8Array).toString(), 'v1234')
  await assert.rejects(tree.get(key(1)), isClosed)
})

test('state close: a scan continued after close fails with CLOSED', async () => {
  for (const reverse of [false, true]) {
    const tree = await filledTree(new MemoryFileSystem())
    // Memtable entries too: the scan must not go on from memory alone either.
    tree.apply(5000, [{ type: 'put', key: key(5000), value: Buffer.from('m') }])
    const it = tree.scan({ reverse })
    assert.equal((await it.next()).done, false)
    await tree.close()
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done === true) return
      })(),
      isClosed,
    )
    await assert.rejects(async () => {
      for await (const _ of tree.scan()) {
      }
    }, isClosed)
  }
})

test('state close: a snapshot scan continued after the tree closed fails with CLOSED', async () => {
  const tree = await filledTree(new MemoryFileSystem())
  const snap = tree.readSnapshot()
  const it = snap.scan()
  assert.equal((await it.next()).done, false)
  await tree.close()
  await assert.rejects(
    (async () => {
      for (;;) if ((await it.next()).done === true) return
    })(),
    isClosed,
  )
  await assert.rejects(snap.get(key(1)), isClosed)
  await snap.close()
})
