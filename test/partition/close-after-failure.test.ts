/**
 * Closing after failures must leave nothing running and nothing held (found in review after
 * issue 6): a partition whose log fails to close still stops its state tree before the store
 * releases its lock, and an open that fails after taking the OS lock gives the lock back.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { CairnError, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'
import { testSeed, withSeed } from '../helpers/seed.js'

test("a log that fails to close does not leave the state tree's flush running past the store's lock", async () => {
  // The crash model's seed: CAIRN_SEED, else a fresh one, named on failure.
  const seed = testSeed()
  await withSeed(seed, () => logFailsToClose(seed))
})

async function logFailsToClose(seed: number): Promise<void> {
  const fs = new MemoryFileSystem({ seed })
  const store = await Store.open('/s', { fs })
  const p = await store.ensurePartition('p')
  for (let i = 0; i < 200; i++) await p.put(`k${i}`, 'v'.repeat(100))
  const logDir = `/s/partitions/p/logs/${store.catalog.partition('p')!.activeLogId}`
  const segments = (await fs.list(logDir)).filter((n) => n.endsWith('.log'))
  const release = fs.holdSyncs()
  const order: string[] = []
  const flushing = p.flush().then(
    () => order.push('flush settled'),
    () => order.push('flush settled'),
  )
  await new Promise((resolve) => setTimeout(resolve, 20))
  fs.failNextSync(`${logDir}/${segments.at(-1)}`)
  const closing = store.close().then(
    () => order.push('store closed'),
    (e: unknown) => order.push(`store close failed ${e instanceof CairnError ? e.code : String(e)}`),
  )
  await new Promise((resolve) => setTimeout(resolve, 20))
  release()
  await closing
  await flushing
  assert.equal(order[0], 'flush settled', `order: ${order.join(', ')}`)
  const again = await Store.open('/s', { fs })
  await again.close()
}

test('an open that fails after taking the OS lock releases it (a retry in the same process opens)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-lock-release-'))
  try {
    const fs = new NodeFileSystem()
    if (fs.lockExclusive === undefined) return // no OS lock on this platform: nothing to leak
    const list = fs.list.bind(fs)
    let failOnce = true
    fs.list = async (path: string) => {
      if (failOnce && path === dir) {
        failOnce = false
        throw Object.assign(new Error('EMFILE: too many open files, scandir'), { code: 'EMFILE' })
      }
      return list(path)
    }
    await assert.rejects(Store.open(dir, { fs }))
    const store = await Store.open(dir, { fs })
    await store.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
