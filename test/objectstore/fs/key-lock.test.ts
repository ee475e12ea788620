import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../../src/io/index.js'
import { lockKey } from '../../../src/objectstore/fs/key-lock.js'

test('key lock: one holder at a time in a process; the next takes it on release', async () => {
  const fs = new MemoryFileSystem()
  await fs.mkdir('/locks')
  const first = await lockKey(fs, '/locks/k.lock')
  let second = false
  const next = lockKey(fs, '/locks/k.lock').then((held) => {
    second = true
    return held
  })
  for (let i = 0; i < 100; i++) await Promise.resolve()
  assert.equal(second, false)
  await first.release()
  await (await next).release()
  assert.deepEqual(await fs.list('/locks'), [])
})

// Fails by the test's timeout if the new process queues behind the dead one forever.
test('key lock: a lock a crashed process never released does not block the next process', { timeout: 20_000 }, async () => {
  const fs = new MemoryFileSystem()
  await fs.mkdir('/locks')
  await lockKey(fs, '/locks/k.lock')
  fs.processCrash()
  const held = await lockKey(fs, '/locks/k.lock')
  await held.release()
  assert.deepEqual(await fs.list('/locks'), [])
})
