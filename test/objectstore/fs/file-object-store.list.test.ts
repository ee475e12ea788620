/**
 * The file:// store's list against the memory store's (the model), on random key sets drawn
 * from an alphabet that makes folder order and key order differ (`-` and `.` sort below `/`,
 * `é`, `～` and `😀` differ between UTF-16 and UTF-8 order), with random prefixes, cursors and
 * page sizes.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryFileSystem } from '../../../src/io/index.js'
import { seededRandom } from '../../../src/io/seeded-random.js'
import { FaultFileSystem } from '../../../src/io/index.js'
import { FileObjectStore, MemoryObjectStore, type ObjectStore } from '../../../src/objectstore/index.js'
import { testSeed, withSeed } from '../../helpers/seed.js'

const alphabet = ['a', 'b', 'x', '-', '.', '0', 'é', '\uff5e', '\u{1f600}']

async function listAll(store: ObjectStore, prefix: string, limit: number, startAfter?: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = startAfter
  for (;;) {
    const page = await store.list(prefix, { limit, ...(cursor !== undefined && { startAfter: cursor }) })
    assert.ok(page.objects.length <= limit)
    keys.push(...page.objects.map((o) => o.key))
    if (page.next === undefined) return keys
    cursor = page.next
  }
}

test('file store list equals the model list on random key sets, prefixes, cursors and page sizes', async () => {
  const base = testSeed()
  for (let round = 0; round < 20; round++) {
    const seed = (base + round) >>> 0
    await withSeed(seed, async () => {
      const rng = seededRandom(seed)
      const pick = <T>(xs: T[]): T => xs[rng.int(0, xs.length - 1)]!
      const segment = () => Array.from({ length: rng.int(1, 3) }, () => pick(alphabet)).join('')
      const word = () => {
        const s = segment()
        return s === '.' || s === '..' ? 'a' : s
      }
      const fs = new FaultFileSystem(new MemoryFileSystem({ seed }))
      const file = await FileObjectStore.open('/repo', { fs })
      const model = new MemoryObjectStore()
      for (let i = 0; i < 40; i++) {
        const key = Array.from({ length: rng.int(1, 3) }, word).join('/')
        try {
          await file.put(key, new Uint8Array([i]))
        } catch (e) {
          // An object and a folder of one name: the file store refuses, the model has no such limit.
          assert.equal((e as { code?: string }).code, "INVALID_ARGUMENT", `put ${JSON.stringify(key)}: ${(e as Error).message}`)
          continue
        }
        await model.put(key, new Uint8Array([i]))
      }
      const all = await listAll(model, '', 1000)
      // By code points: a prefix never splits a surrogate pair.
      const cut = (k: string, n: number) => Array.from(k).slice(0, n).join('')
      for (let q = 0; q < 12; q++) {
        const prefix = rng.next() < 0.3 ? '' : cut(pick(all), rng.int(1, 4))
        const validPrefix = prefix.length === 0 || !/(^|\/)\.\.?$/.test(prefix) ? prefix : ''
        const limit = rng.int(1, 7)
        const cursor = rng.next() < 0.5 ? undefined : rng.next() < 0.5 ? pick(all) : cut(pick(all), rng.int(1, 5)) + pick(alphabet)
        const expected = await listAll(model, validPrefix, limit, cursor)
        assert.deepEqual(await listAll(file, validPrefix, limit, cursor), expected, `prefix ${JSON.stringify(validPrefix)} limit ${limit} after ${JSON.stringify(cursor)}`)
      }
    })
  }
})
