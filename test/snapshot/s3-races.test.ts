/**
 * Producers racing on latest.json through the real AWS SDK, against the test S3 server that
 * enforces If-None-Match/If-Match atomically: the pointer never regresses, no published
 * manifest names a missing chunk; two stores with different ids cannot both publish (fencing),
 * and a take-over fences the first.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { type ObjectStore, openObjectStore } from '../../src/objectstore/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'
import { type CasS3Server, startCasS3Server, useTestS3Credentials } from '../helpers/s3-servers.js'
import { testSeed, withSeed } from '../helpers/seed.js'
import { collect, hex, makeEntries, sourceOf } from './snapshot-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code

let server: CasS3Server
const stores: ObjectStore[] = []
before(async () => {
  useTestS3Credentials()
  server = await startCasS3Server()
})
after(async () => {
  for (const s of stores) await s.close()
  await server.stop()
})

/** A repository on its own SDK client, under `prefix` of the bucket. */
async function client(prefix: string, options: { keep?: number } = {}): Promise<SnapshotRepository> {
  const store = await openObjectStore(server.url.replace('/cairn?', `/${prefix}?`))
  stores.push(store)
  return SnapshotRepository.open(store, { uploadParallelism: 4, ...options })
}

describe('racing producers through the AWS SDK', () => {
  test('the pointer never regresses and every published manifest has all its chunks', async () => {
    const seed = testSeed()
    await withSeed(seed, async () => {
      const producers = await Promise.all([1, 2, 3, 4].map(() => client('race', { keep: 3 })))
      const watcher = await client('race')
      // Each producer publishes snapshots at LSNs of its own (interleaved), each of different content.
      const lsns = Array.from({ length: 16 }, (_, i) => i + 1)
      const order = [...lsns].sort((a, b) => ((a * 7919 + seed) % 97) - ((b * 7919 + seed) % 97))
      let highest = 0
      let watching = true
      const watch = (async () => {
        while (watching) {
          const latest = await watcher.latest('p')
          const now = latest?.snapshots[0]?.lsn ?? 0
          assert.ok(now >= highest, `latest.json went from ${highest} back to ${now}`)
          highest = now
        }
      })()
      const results = await Promise.all(
        producers.map(async (repo, i) => {
          const out = []
          for (const lsn of order.filter((_, j) => j % producers.length === i)) {
            out.push(await repo.create('p', sourceOf(makeEntries(400, { tag: `l${lsn}`, valueBytes: 200 }), lsn), { writer: { storeId: 'shared' } }))
          }
          return out
        }),
      )
      watching = false
      await watch
      const latest = (await watcher.latest('p'))!
      const published = results.flat().filter((r) => r.published)
      assert.ok(published.length >= 1)
      assert.equal(latest.snapshots[0]!.lsn, Math.max(...published.map((r) => r.lsn)))
      // Newest first, strictly, and no more than keep.
      const retained = latest.snapshots.map((s) => s.lsn)
      assert.deepEqual(retained, [...retained].sort((a, b) => b - a))
      assert.ok(retained.length <= 3)
      assert.deepEqual((await watcher.verify('p')).problems, [])
      const top = latest.snapshots[0]!.lsn
      assert.deepEqual(hex(await collect((await watcher.open('p')).entries())), hex(makeEntries(400, { tag: `l${top}`, valueBytes: 200 })))
    })
  })

  test('two stores racing for one partition: exactly one owns it; the other is fenced until it takes over', async () => {
    const [a, b] = await Promise.all([client('fence'), client('fence')])
    const outcomes = await Promise.allSettled([
      a.create('p', sourceOf(makeEntries(300, { tag: 'a' }), 10), { writer: { storeId: 'store-a' } }),
      b.create('p', sourceOf(makeEntries(300, { tag: 'b' }), 11), { writer: { storeId: 'store-b' } }),
    ])
    const won = outcomes.filter((o) => o.status === 'fulfilled')
    const lost = outcomes.filter((o) => o.status === 'rejected')
    assert.equal(won.length, 1)
    assert.equal(lost.length, 1)
    assert.ok(isCode('REPOSITORY_FENCED')((lost[0] as PromiseRejectedResult).reason))
    const owner = (await a.latest('p'))!.writer
    assert.equal(owner.epoch, 1)
    const [ownerRepo, otherRepo, otherId] = owner.storeId === 'store-a' ? [a, b, 'store-b'] : [b, a, 'store-a']
    const taken = await otherRepo.create('p', sourceOf(makeEntries(300, { tag: 'c' }), 20), { writer: { storeId: otherId }, takeOver: true })
    assert.equal(taken.epoch, 2)
    await assert.rejects(ownerRepo.create('p', sourceOf(makeEntries(300, { tag: 'd' }), 30), { writer: owner }), isCode('REPOSITORY_FENCED'))
    assert.deepEqual((await a.latest('p'))!.writer, { storeId: otherId, epoch: 2 })
    assert.equal((await a.latest('p'))!.snapshots[0]!.lsn, 20)
    assert.deepEqual((await a.verify('p')).problems, [])
  })
})
