/**
 * Damage in a repository: a corrupt chunk, a truncated manifest, garbage in latest.json, a
 * missing chunk, a format from the future. verify names each bad object; reading falls back to
 * an older retained snapshot and says so, or fails with a clear code, never an empty stream;
 * an unparsable latest.json is never overwritten.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CairnError } from '../../src/io/index.js'
import { MemoryObjectStore } from '../../src/objectstore/index.js'
import { chunkKey, latestKey, SnapshotRepository } from '../../src/snapshot/index.js'
import { collect, type Entries, hex, keysUnder, makeEntries, sourceOf } from './snapshot-helpers.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const writer = { storeId: 's' }
const enc = new TextEncoder()

/** A repository with three snapshots of entirely different content (no shared chunks). */
async function threeSnapshots() {
  const store = new MemoryObjectStore()
  const repo = await SnapshotRepository.open(store)
  const states: Entries[] = []
  for (const lsn of [10, 20, 30]) {
    const entries = makeEntries(2000, { tag: `t${lsn}`, valueBytes: 120 })
    states.push(entries)
    await repo.create('p', sourceOf(entries, lsn), { writer })
  }
  const [s30, s20, s10] = await repo.list('p')
  return { store, repo, states, s30: s30!, s20: s20!, s10: s10! }
}

async function flipLastByte(store: MemoryObjectStore, key: string): Promise<void> {
  const bytes = Uint8Array.from((await store.get(key)).bytes)
  bytes[bytes.length - 1]! ^= 0x01
  await store.put(key, bytes)
}

async function restoreAll(repo: SnapshotRepository) {
  return repo.withSnapshot('p', async (s) => collect(s.entries()))
}

describe('repository damage', () => {
  test('a corrupt chunk: verify names it; reading fails on it and falls back to the previous snapshot', async () => {
    const { store, repo, states, s30 } = await threeSnapshots()
    const m = await repo.manifest('p', s30.snapshotId)
    const bad = chunkKey(m.chunks[1]!.id)
    await flipLastByte(store, bad)
    const v = await repo.verify('p')
    assert.equal(v.ok, false)
    assert.deepEqual(v.problems.map((p) => [p.problem, p.key, p.snapshotId]), [['corrupt', bad, s30.snapshotId]])
    // open's stream stops at the damage: a consumer that commits only at the end commits nothing.
    const opened = await repo.open('p')
    await assert.rejects(collect(opened.entries()), isCode('CORRUPT_SNAPSHOT'))
    const { result, manifest, fellBackFrom } = await restoreAll(repo)
    assert.equal(manifest.lsn, 20)
    assert.deepEqual(hex(result), hex(states[1]!))
    assert.deepEqual(fellBackFrom?.map((n) => [n.snapshotId, n.code]), [[s30.snapshotId, 'CORRUPT_SNAPSHOT']])
    // Asked for by id, a damaged snapshot does not fall back.
    await assert.rejects(repo.withSnapshot('p', async (s) => collect(s.entries()), { snapshotId: s30.snapshotId }), isCode('CORRUPT_SNAPSHOT'))
  })

  test('a truncated manifest: verify names it unparsable; open falls back and says so', async () => {
    const { store, repo, states, s30 } = await threeSnapshots()
    const bytes = (await store.get(s30.manifestKey)).bytes
    await store.put(s30.manifestKey, bytes.subarray(0, bytes.length >> 1))
    const v = await repo.verify('p')
    assert.deepEqual(v.problems.map((p) => [p.problem, p.key]), [['unparsable', s30.manifestKey]])
    const opened = await repo.open('p')
    assert.equal(opened.manifest.lsn, 20)
    assert.deepEqual(opened.fellBackFrom?.map((n) => [n.snapshotId, n.code]), [[s30.snapshotId, 'CORRUPT_SNAPSHOT']])
    assert.deepEqual(hex(await collect(opened.entries())), hex(states[1]!))
    await assert.rejects(repo.manifest('p', s30.snapshotId), isCode('CORRUPT_SNAPSHOT'))
  })

  test('a missing chunk: verify names it missing; reading falls back past it', async () => {
    const { store, repo, states, s30, s20 } = await threeSnapshots()
    await store.delete(chunkKey((await repo.manifest('p', s30.snapshotId)).chunks.at(-1)!.id))
    await store.delete(chunkKey((await repo.manifest('p', s20.snapshotId)).chunks[0]!.id))
    const v = await repo.verify('p')
    assert.deepEqual(v.problems.map((p) => [p.problem, p.snapshotId]).sort(), [['missing', s20.snapshotId], ['missing', s30.snapshotId]].sort())
    const { result, manifest, fellBackFrom } = await restoreAll(repo)
    assert.equal(manifest.lsn, 10)
    assert.deepEqual(hex(result), hex(states[0]!))
    assert.deepEqual(fellBackFrom?.map((n) => n.lsn), [30, 20])
  })

  test('every retained snapshot damaged: a clear CORRUPT_SNAPSHOT, never an empty partition', async () => {
    const store = new MemoryObjectStore()
    const repo = await SnapshotRepository.open(store)
    await repo.create('p', sourceOf(makeEntries(500), 5), { writer })
    await store.delete(chunkKey((await repo.manifest('p')).chunks[0]!.id))
    let consumed = 0
    await assert.rejects(
      repo.withSnapshot('p', async (s) => {
        for await (const _ of s.entries()) consumed++
      }),
      (e: unknown) => isCode('CORRUPT_SNAPSHOT')(e) && /no retained snapshot of partition p/.test((e as Error).message),
    )
    assert.equal(consumed, 0)
  })

  test('garbage in latest.json: verify names it; reads fail; create, prune and gc never overwrite or delete', async () => {
    const { store, repo, s30 } = await threeSnapshots()
    const garbage = enc.encode('{"format":1,"partition":"p","writer":')
    await store.put(latestKey('p'), garbage)
    const before = (await keysUnder(store, '')).sort()
    const v = await repo.verify('p')
    assert.equal(v.problems[0]!.problem, 'unparsable')
    assert.equal(v.problems[0]!.key, latestKey('p'))
    // The manifests are still checked, found by listing.
    assert.equal(v.snapshotsChecked, 3)
    assert.equal(v.problems.length, 1)
    await assert.rejects(repo.open('p'), isCode('CORRUPT_SNAPSHOT'))
    await assert.rejects(repo.latest('p'), isCode('CORRUPT_SNAPSHOT'))
    await assert.rejects(repo.create('p', sourceOf(makeEntries(10), 99), { writer }), isCode('CORRUPT_SNAPSHOT'))
    await assert.rejects(repo.prune('p', { keep: 1 }), isCode('CORRUPT_SNAPSHOT'))
    await assert.rejects(repo.gc({ graceMs: 0 }), isCode('CORRUPT_SNAPSHOT'))
    assert.deepEqual((await store.get(latestKey('p'))).bytes, garbage)
    assert.deepEqual((await keysUnder(store, '')).sort(), before)
    // A snapshot can still be read by id.
    assert.equal((await repo.open('p', { snapshotId: s30.snapshotId })).manifest.lsn, 30)
  })

  test('a pointer or manifest from a newer format is UNSUPPORTED_FORMAT', async () => {
    const { store, repo, s30 } = await threeSnapshots()
    const manifest = JSON.parse(new TextDecoder().decode((await store.get(s30.manifestKey)).bytes))
    await store.put(s30.manifestKey, enc.encode(JSON.stringify({ ...manifest, format: 2 })))
    await assert.rejects(repo.manifest('p', s30.snapshotId), isCode('UNSUPPORTED_FORMAT'))
    assert.equal((await repo.open('p')).fellBackFrom?.[0]?.code, 'UNSUPPORTED_FORMAT')
    const pointer = JSON.parse(new TextDecoder().decode((await store.get(latestKey('p'))).bytes))
    await store.put(latestKey('p'), enc.encode(JSON.stringify({ ...pointer, format: 7 })))
    await assert.rejects(repo.latest('p'), isCode('UNSUPPORTED_FORMAT'))
    await assert.rejects(repo.create('p', sourceOf(makeEntries(10), 99), { writer }), isCode('UNSUPPORTED_FORMAT'))
  })

  test('a create with nothing to publish answers even when the latest manifest is damaged', async () => {
    const { store, repo, s30 } = await threeSnapshots()
    await store.put(s30.manifestKey, enc.encode('{'))
    const r = await repo.create('p', sourceOf(makeEntries(10), 25), { writer })
    assert.equal(r.published, false)
    assert.equal(r.snapshotId, s30.snapshotId)
    assert.equal(r.lsn, 30)
    // A newer one publishes over it.
    assert.equal((await repo.create('p', sourceOf(makeEntries(10), 31), { writer })).published, true)
  })

  test('a manifest that lies about its chunks (root hash, totals) is CORRUPT_SNAPSHOT', async () => {
    const { store, repo, s30 } = await threeSnapshots()
    const manifest = JSON.parse(new TextDecoder().decode((await store.get(s30.manifestKey)).bytes))
    manifest.chunks.pop()
    await store.put(s30.manifestKey, enc.encode(JSON.stringify(manifest)))
    await assert.rejects(repo.manifest('p', s30.snapshotId), isCode('CORRUPT_SNAPSHOT'))
  })
})
