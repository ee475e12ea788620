/**
 * The file:// store under the crash model: a process crash or a power loss at any point of a
 * put or delete leaves each key holding its old object or its new one, whole, never a part; an
 * acknowledged change survives both; temp files are never listed.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../../src/io/index.js'
import { seededRandom } from '../../../src/io/seeded-random.js'
import { FileObjectStore } from '../../../src/objectstore/index.js'
import { patternBytes } from '../../helpers/object-store-conformance.js'
import { testSeed, withSeed } from '../../helpers/seed.js'

const v1 = patternBytes(10_000, 1)
const v2 = patternBytes(9_000, 2)
const created = patternBytes(5_000, 3)
type Op = 'put' | 'ifMatch' | 'ifNoneMatch' | 'delete'
const ops: Op[] = ['put', 'ifMatch', 'ifNoneMatch', 'delete']
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

test('a crash at any point of a put or delete leaves old or new, whole; what was acknowledged survives', async () => {
  const base = testSeed()
  const rounds = 120
  for (let round = 0; round < rounds; round++) {
    const seed = (base + round) >>> 0
    await withSeed(seed, async () => {
      const rng = seededRandom(seed)
      const fs = new MemoryFileSystem({ seed })
      const store = await FileObjectStore.open('/repo', { fs })
      const { etag } = await store.put('p/latest.json', v1)
      await store.put('chunks/a', created)
      const op = ops[rng.int(0, ops.length - 1)]!
      let acked = false
      const running = (async () => {
        if (op === 'put') await store.put('p/latest.json', v2)
        else if (op === 'ifMatch') await store.put('p/latest.json', v2, { condition: { ifMatch: etag } })
        else if (op === 'ifNoneMatch') await store.put('p/new/obj', created, { condition: { ifNoneMatch: '*' } })
        else await store.delete('p/latest.json')
        acked = true
      })().catch(() => undefined)
      const ticks = rng.int(0, 120)
      for (let i = 0; i < ticks; i++) await Promise.resolve()
      const power = rng.next() < 0.6
      const ackedAtCrash = acked
      if (power) fs.powerLoss()
      else fs.processCrash()
      await running
      const reopened = await FileObjectStore.open('/repo', { fs })
      const context = `op ${op}, ${power ? 'power loss' : 'process crash'} after ${ticks} ticks, acked ${ackedAtCrash}`

      const latest = await reopened.head('p/latest.json')
      if (op === 'put' || op === 'ifMatch') {
        const got = await reopened.get('p/latest.json')
        assert.ok(same(got.bytes, v2) || (!ackedAtCrash && same(got.bytes, v1)), `latest.json is neither v1 nor v2 whole: ${context}`)
      } else if (op === 'delete') {
        if (ackedAtCrash) assert.equal(latest, undefined, context)
        else if (latest !== undefined) assert.ok(same((await reopened.get('p/latest.json')).bytes, v1), context)
      } else {
        assert.ok(same((await reopened.get('p/latest.json')).bytes, v1), context)
        const made = await reopened.head('p/new/obj')
        if (ackedAtCrash) assert.ok(made !== undefined, `an acknowledged create is gone: ${context}`)
        if (made !== undefined) assert.ok(same((await reopened.get('p/new/obj')).bytes, created), context)
      }
      assert.ok(same((await reopened.get('chunks/a')).bytes, created), `an untouched object changed: ${context}`)
      const keys = (await reopened.list('')).objects.map((o) => o.key)
      for (const key of keys) assert.ok(['chunks/a', 'p/latest.json', 'p/new/obj'].includes(key), `listed ${key}: ${context}`)
      // The store works after the crash: a create-exclusive and a compare-and-swap.
      const after = await reopened.put('p/after', v1, { condition: { ifNoneMatch: '*' } })
      await reopened.put('p/after', v2, { condition: { ifMatch: after.etag } })
    })
  }
})

test('the instance of a crashed process fails every later call instead of acting after its death', async () => {
  const fs = new MemoryFileSystem()
  const store = await FileObjectStore.open('/repo', { fs })
  await store.put('k', v1)
  fs.processCrash()
  await assert.rejects(store.put('k', v2), (e) => (e as { code?: string }).code === 'IO_ERROR')
  await assert.rejects(store.get('k'), (e) => (e as { code?: string }).code === 'IO_ERROR')
  const reopened = await FileObjectStore.open('/repo', { fs })
  assert.ok(same((await reopened.get('k')).bytes, v1))
})

test('a create that loses to an object another process linked but has not yet made durable makes it durable before saying it exists', async () => {
  const fs = new MemoryFileSystem()
  const store = await FileObjectStore.open('/repo', { fs })
  await store.put('chunks/other', v1)
  // Another process's create, caught between its link and its folder fsync.
  const h = await fs.open('/repo/.cairn/tmp/theirs.tmp', 'createNew')
  await h.write(created, 0)
  await h.sync()
  await h.close()
  await fs.link('/repo/.cairn/tmp/theirs.tmp', '/repo/chunks/c1')
  await assert.rejects(store.put('chunks/c1', v2, { condition: { ifNoneMatch: '*' } }), (e) => (e as { code?: string }).code === 'PRECONDITION_FAILED')
  fs.powerLoss({ keep: 'synced-only' })
  const reopened = await FileObjectStore.open('/repo', { fs })
  const got = await reopened.head('chunks/c1')
  assert.ok(got !== undefined, 'the object whose existence the create reported is gone after power loss')
})
