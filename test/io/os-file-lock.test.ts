import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { NodeFileSystem } from '../../src/io/index.js'

test('NodeFileSystem.lockExclusive: one holder at a time in this process, file whole while held, removed on release', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-os-lock-'))
  try {
    const fs = new NodeFileSystem()
    assert.ok(fs.lockExclusive !== undefined, 'the native lock addon loads on this platform')
    const path = join(dir, 'LOCK')
    const owner = (n: number) => new TextEncoder().encode(`owner ${n}\n`)
    const first = await fs.lockExclusive(path, owner(1))
    assert.ok(first !== undefined)
    assert.equal(await readFile(path, 'utf8'), 'owner 1\n')
    // Another open file description, even in this process and through another instance, conflicts.
    assert.equal(await new NodeFileSystem().lockExclusive!(path, owner(2)), undefined)
    assert.equal(await readFile(path, 'utf8'), 'owner 1\n')
    await first.release()
    await first.release()
    assert.deepEqual(await readdir(dir), [])
    const second = await fs.lockExclusive(path, owner(3))
    assert.ok(second !== undefined)
    assert.equal(await readFile(path, 'utf8'), 'owner 3\n')
    await second.release()
    assert.deepEqual(await readdir(dir), [])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
