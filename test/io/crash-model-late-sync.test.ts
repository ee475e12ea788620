/**
 * A sync that was in flight when the process crashed must not resolve as if it succeeded over
 * data the crash (or a failed writeback) lost: found by a differential fuzz of the engine, where
 * an acknowledgement seen just after a simulated power loss named records that were gone.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'

test('a sync whose writeback failed never resolves, whenever a power loss lands after its release', async () => {
  for (let microtasks = 0; microtasks <= 12; microtasks++) {
    const fs = new MemoryFileSystem({ seed: 1 })
    await fs.mkdir('/d')
    await fs.syncDir('/')
    const handle = await fs.open('/d/f', 'createNew')
    await fs.syncDir('/d')
    await handle.write(new Uint8Array(10).fill(1), 0)
    const release = fs.holdSyncs()
    let outcome = 'pending'
    const syncing = handle.sync().then(
      () => (outcome = 'resolved'),
      () => (outcome = 'rejected'),
    )
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
    fs.failNextSync('/d/f')
    release()
    for (let i = 0; i < microtasks; i++) await Promise.resolve()
    fs.powerLoss({ keep: 'synced-only' })
    await syncing
    const survived = (await fs.readFile('/d/f')).length
    assert.ok(outcome === 'rejected' || survived === 10, `after ${microtasks} microtasks the sync ${outcome} but ${survived} of 10 bytes survived`)
  }
})
