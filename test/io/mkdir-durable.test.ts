import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem, mkdirDurable } from '../../src/io/index.js'

test('mkdirDurable makes an existing but unsynced directory durable (its creator died before the fsync)', async () => {
  const fs = new MemoryFileSystem()
  await fs.mkdir('/a')
  await fs.syncDir('/')
  await fs.mkdir('/a/b')
  await mkdirDurable(fs, '/a/b')
  fs.powerLoss({ keep: 'synced-only' })
  assert.deepEqual(await fs.list('/a'), ['b'])
})
