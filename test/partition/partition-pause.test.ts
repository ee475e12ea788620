/**
 * `Partition.pauseWrites()`: new writes wait, writes in flight drain before the pause resolves,
 * the applied LSN then stays put until resume, and every waiting write completes after it; the
 * queue is bounded in length and in time (WRITES_PAUSED, nothing logged).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const tick = () => new Promise((resolve) => setImmediate(resolve))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether `promise` has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  void promise.then(
    () => (done = true),
    () => (done = true),
  )
  await tick()
  return done
}

test('a pause under concurrent writers: applied LSN stable until resume, then every waiting write completes', async () => {
  const store = await Store.open('/data', { fs: new MemoryFileSystem(), memtableBytesMax: 8192 })
  try {
    const p = await store.ensurePartition('p')
    const writers = 8
    const acked = new Map<string, number>()
    const puts = new Map<string, string>()
    let stop = false
    const running = Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}/${i}`
        if (i % 3 === 2) acked.set(key, await p.append([`payload ${key}`]))
        else {
          acked.set(key, await p.put(key, `v${i}`))
          puts.set(key, `v${i}`)
        }
      }
      return w
    })
    for (let round = 0; round < 3; round++) {
      while (acked.size < (round + 1) * 200) await tick()
      const resume = await p.pauseWrites()
      const lsn = p.appliedLsn
      assert.equal(lsn, p.lastLsn, 'every logged write is applied once the pause resolved')
      assert.equal(p.info().writesPaused, true)
      const ackedAtPause = acked.size
      for (let i = 0; i < 20; i++) {
        await (i % 2 === 0 ? tick() : sleep(2))
        assert.equal(p.appliedLsn, lsn, 'the applied LSN does not move while paused')
        assert.equal(p.lastLsn, lsn, 'nothing is logged while paused')
      }
      // Writers that were in flight finished; the rest wait (none failed: the loop would have thrown).
      assert.ok(acked.size - ackedAtPause <= writers, 'at most the writes in flight at the pause completed after it')
      resume()
      resume()
      assert.equal(p.info().writesPaused, false)
    }
    stop = true
    assert.deepEqual((await Promise.all(running)).sort(), [0, 1, 2, 3, 4, 5, 6, 7], 'every writer completed')
    for (const [key, value] of puts) assert.equal(await p.getString(key), value, `acknowledged put ${key}`)
    const lsns = [...acked.values()].sort((a, b) => a - b)
    assert.equal(new Set(lsns).size, lsns.length, 'no LSN was handed out twice')
    assert.equal(p.appliedLsn, p.lastLsn)
  } finally {
    await store.close()
  }
})

test('a pause resolves only once the writes in flight settled', async () => {
  const fs = new MemoryFileSystem()
  const store = await Store.open('/data', { fs })
  try {
    const p = await store.ensurePartition('p')
    await p.put('a', '1')
    const releaseSyncs = fs.holdSyncs()
    const inFlight = p.put('b', '2')
    await tick()
    const pausing = p.pauseWrites()
    const waiting = p.put('c', '3')
    assert.equal(await settled(pausing), false, 'the pause waits for the write in flight')
    assert.equal(p.appliedLsn, 1)
    releaseSyncs()
    const resume = await pausing
    assert.equal(await inFlight, 2)
    assert.equal(p.appliedLsn, 2)
    assert.equal(p.lastLsn, 2)
    assert.equal(await settled(waiting), false, 'a write that came after the pause waits')
    resume()
    assert.equal(await waiting, 3)
    assert.equal(await p.getString('c'), '3')
  } finally {
    await store.close()
  }
})

test('while paused, writes beyond pausedWritesMax fail at once with WRITES_PAUSED; the others complete on resume', async () => {
  const store = await Store.open('/data', { fs: new MemoryFileSystem(), pausedWritesMax: 3 })
  try {
    const p = await store.ensurePartition('p')
    const resume = await p.pauseWrites()
    const writes = [p.put('a', '1'), p.append(['x']), p.write({ ops: [{ type: 'put', key: 'b', value: '2' }] }), p.put('c', '3'), p.append(['y'])]
    const results = writes.map((w) =>
      w.then(
        (lsn) => lsn,
        (e: unknown) => e,
      ),
    )
    await tick()
    const late = await Promise.all(results.slice(3))
    for (const e of late) {
      assert.ok(isCode('WRITES_PAUSED')(e), String(e))
      assert.match((e as Error).message, /retry/)
    }
    assert.equal(p.lastLsn, 0)
    resume()
    assert.deepEqual((await Promise.all(results.slice(0, 3))).sort(), [1, 2, 3])
    assert.equal(await p.getString('c'), undefined, 'the refused write was never logged')
  } finally {
    await store.close()
  }
})

test('a write waiting longer than pauseWaitMsMax fails with WRITES_PAUSED, nothing logged', async () => {
  const store = await Store.open('/data', { fs: new MemoryFileSystem(), pauseWaitMsMax: 30 })
  try {
    const p = await store.ensurePartition('p')
    const resume = await p.pauseWrites()
    await assert.rejects(p.put('a', '1'), (e: unknown) => isCode('WRITES_PAUSED')(e) && /retry/.test((e as Error).message))
    assert.equal(p.lastLsn, 0)
    resume()
    assert.equal(await p.put('a', '2'), 1)
  } finally {
    await store.close()
  }
})

test('pauses nest, replicated appends wait too, and closing fails the waiting writes with CLOSED', async () => {
  const store = await Store.open('/data', { fs: new MemoryFileSystem() })
  const p = await store.ensurePartition('p')
  await p.put('a', '1')
  const first = await p.pauseWrites()
  const second = await p.pauseWrites()
  const waiting = p.put('b', '2')
  first()
  first()
  assert.equal(await settled(waiting), false, 'still paused by the second pause')
  second()
  assert.equal(await waiting, 2)
  const entries = []
  for await (const e of p.read()) entries.push(e)
  const other = await Store.open('/other', { fs: new MemoryFileSystem() })
  const replica = await other.ensurePartition('p')
  const resume = await replica.pauseWrites()
  const replicated = replica.appendReplicated(entries)
  assert.equal(await settled(replicated), false, 'a replicated append waits for the resume')
  resume()
  assert.equal(await replicated, 2)
  await replica.pauseWrites()
  const stuck = replica.put('c', '3')
  await tick()
  await other.close()
  await assert.rejects(stuck, isCode('CLOSED'))
  await store.close()
})

test('pause bounds are checked when the partition opens', async () => {
  for (const bad of [{ pausedWritesMax: -1 }, { pausedWritesMax: 1.5 }, { pauseWaitMsMax: Number.NaN }]) {
    const store = await Store.open('/data', { fs: new MemoryFileSystem(), ...bad })
    try {
      await assert.rejects(store.ensurePartition('p'), isCode('INVALID_CONFIG'), JSON.stringify(bad))
    } finally {
      await store.close()
    }
  }
})
