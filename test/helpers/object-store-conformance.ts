/**
 * One contract, every object store: memory, file:// (real disk and MemoryFileSystem), S3 through
 * s3rver and through the CAS test server, and the fault wrapper without faults. Each case works
 * under its own key prefix, so one store (one server) serves the whole suite.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { isCairnError } from '../../src/io/index.js'
import { compareObjectKeys, type ObjectStore, probeConditionalWrites } from '../../src/objectstore/index.js'
import { testSeed, withSeed } from './seed.js'

export interface ConformanceTarget {
  store: ObjectStore
  cleanup(): Promise<void>
}

export interface ConformanceOptions {
  /** False for servers that ignore If-None-Match/If-Match (s3rver): its cases are replaced by a probe that must say so. */
  conditionalWrites?: boolean
  /** Size of the large-object case (default 1.5 MiB). */
  largeObjectBytes?: number
  /** Puts racing in the compare-and-swap cases (default 8). */
  racers?: number
  /**
   * True for s3rver, whose listing differs from S3's in two ways: it walks folders, putting `x/1`
   * before `x-` and `x.y` (characters below `/`), and it compares StartAfter in UTF-16 order, so
   * after `～` (U+FF5E) it skips `😀` (U+1F600). The list case leaves such keys out for it and
   * checks everything else, order included.
   */
  listsLikeS3rver?: boolean
}

const enc = new TextEncoder()
const bytes = (s: string): Uint8Array => enc.encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)
const code = (c: string) => (e: unknown) => {
  assert.ok(isCairnError(e), `expected a CairnError ${c}, got ${String(e)}`)
  assert.equal(e.code, c, `expected ${c}, got ${e.code}: ${e.message}`)
  return true
}

/** Deterministic pseudo-random bytes (xorshift), so a large object is not all zeros. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed | 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

async function listAll(store: ObjectStore, prefix: string, limit?: number): Promise<string[]> {
  const keys: string[] = []
  let startAfter: string | undefined
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.list(prefix, { ...(startAfter !== undefined && { startAfter }), ...(limit !== undefined && { limit }) })
    if (limit !== undefined) assert.ok(page.objects.length <= limit, `a page of ${page.objects.length} > limit ${limit}`)
    keys.push(...page.objects.map((o) => o.key))
    if (page.next === undefined) return keys
    startAfter = page.next
  }
  throw new Error('list never ended')
}

export function runObjectStoreConformance(name: string, make: () => Promise<ConformanceTarget>, options: ConformanceOptions = {}): void {
  const conditional = options.conditionalWrites ?? true
  const racers = options.racers ?? 8
  describe(`ObjectStore conformance: ${name}`, () => {
    let target: ConformanceTarget
    let store: ObjectStore
    let n = 0
    /** A fresh key prefix per case. */
    const ns = (): string => `t${++n}-${process.pid}/`
    before(async () => {
      target = await make()
      store = target.store
    })
    after(async () => {
      await target.cleanup()
    })

    test('put then get returns the bytes, the put etag, the size and a modification time; head agrees', async () => {
      const k = `${ns()}obj.json`
      const { etag } = await store.put(k, bytes('{"v":1}'))
      assert.equal(typeof etag, 'string')
      assert.ok(etag.length > 0 && !etag.includes('"'), `etag ${etag} is bare`)
      const got = await store.get(k)
      assert.equal(text(got.bytes), '{"v":1}')
      assert.equal(got.etag, etag)
      assert.equal(got.size, 7)
      assert.ok(got.lastModified instanceof Date && !Number.isNaN(got.lastModified.getTime()))
      const info = await store.head(k)
      assert.deepEqual({ ...info, lastModified: undefined }, { key: k, size: 7, etag, lastModified: undefined })
    })

    test('an overwrite replaces the bytes and changes the etag; the same bytes again keep working', async () => {
      const k = `${ns()}k`
      const a = await store.put(k, bytes('first'))
      const b = await store.put(k, bytes('second!'))
      assert.notEqual(a.etag, b.etag)
      const got = await store.get(k)
      assert.equal(text(got.bytes), 'second!')
      assert.equal(got.etag, b.etag)
      await store.put(k, bytes('second!'))
      assert.equal(text((await store.get(k)).bytes), 'second!')
    })

    test('the caller may change its buffers after put and after get without changing the object', async () => {
      const k = `${ns()}k`
      const body = bytes('abc')
      await store.put(k, body)
      body[0] = 0x7a
      const got = await store.get(k)
      got.bytes[1] = 0x7a
      assert.equal(text((await store.get(k)).bytes), 'abc')
    })

    test('ranges: from a start, start to end, an end past the object, a start past it, empty', async () => {
      const k = `${ns()}r`
      const { etag } = await store.put(k, bytes('0123456789'))
      const read = async (start: number, end?: number) => {
        const got = await store.get(k, { range: end === undefined ? { start } : { start, end } })
        assert.equal(got.size, 10, 'size is the whole object')
        assert.equal(got.etag, etag)
        return text(got.bytes)
      }
      assert.equal(await read(0), '0123456789')
      assert.equal(await read(7), '789')
      assert.equal(await read(2, 5), '234')
      assert.equal(await read(8, 100), '89')
      assert.equal(await read(9, 10), '9')
      assert.equal(await read(10), '')
      assert.equal(await read(15, 20), '')
      assert.equal(await read(4, 4), '')
      await assert.rejects(store.get(k, { range: { start: -1 } }), code('INVALID_ARGUMENT'))
      await assert.rejects(store.get(k, { range: { start: 5, end: 3 } }), code('INVALID_ARGUMENT'))
      await assert.rejects(store.get(k, { range: { start: 1.5 } }), code('INVALID_ARGUMENT'))
    })

    test('a missing key: get is OBJECT_NOT_FOUND naming the key, head is undefined, also with a range', async () => {
      const k = `${ns()}missing`
      await assert.rejects(store.get(k), (e) => code('OBJECT_NOT_FOUND')(e) && (e as { context: { key: string } }).context.key === k)
      await assert.rejects(store.get(k, { range: { start: 0, end: 1 } }), code('OBJECT_NOT_FOUND'))
      assert.equal(await store.head(k), undefined)
    })

    test('delete removes the object; deleting a missing key succeeds', async () => {
      const k = `${ns()}d`
      await store.delete(k)
      await store.put(k, bytes('x'))
      await store.delete(k)
      assert.equal(await store.head(k), undefined)
      await assert.rejects(store.get(k), code('OBJECT_NOT_FOUND'))
      await store.delete(k)
      assert.deepEqual(await listAll(store, k), [])
    })

    test('list: ascending UTF-8 byte order, paging by any limit, prefixes see only their keys', async () => {
      const p = ns()
      const names = ['x/1', 'x/10', 'x/2', 'xa', 'x/sub/3', 'x/sub/deeper/4', 'é', '\uff5e', 'A', 'x0']
      const s3rver = options.listsLikeS3rver === true
      if (!s3rver) names.push('x.y', 'x-', '\u{1f600}')
      for (const name of names) await store.put(p + name, bytes(name))
      const other = ns()
      await store.put(`${other}x/1`, bytes('other'))
      const expected = names.map((k) => p + k).sort(compareObjectKeys)
      // UTF-8 order puts U+1F600 (4 bytes, F0...) after U+FF5E (EF...), unlike UTF-16 order.
      if (!s3rver) assert.ok(expected.indexOf(`${p}\uff5e`) < expected.indexOf(`${p}\u{1f600}`))
      assert.deepEqual(await listAll(store, p), expected)
      for (const limit of [1, 2, 5]) assert.deepEqual(await listAll(store, p, limit), expected, `limit ${limit}`)
      assert.deepEqual(await listAll(store, `${p}x/`), expected.filter((k) => k.startsWith(`${p}x/`)))
      assert.deepEqual(await listAll(store, `${p}x`), expected.filter((k) => k.startsWith(`${p}x`)))
      assert.deepEqual(await listAll(store, `${p}x/sub/`), [`${p}x/sub/3`, `${p}x/sub/deeper/4`])
      assert.deepEqual(await listAll(store, `${p}nothing`), [])
      const page = await store.list(p, { limit: 3 })
      assert.equal(page.objects.length, 3)
      assert.equal(page.next, expected[2])
      const rest = await store.list(p, { startAfter: expected[2]! })
      assert.deepEqual(
        rest.objects.map((o) => o.key),
        expected.slice(3),
      )
      assert.equal(rest.next, undefined)
      const first = page.objects[0]!
      assert.equal(first.size, enc.encode(first.key.slice(p.length)).length)
      assert.ok(first.lastModified instanceof Date && !Number.isNaN(first.lastModified.getTime()))
      if (first.etag !== undefined) assert.equal(first.etag, (await store.head(first.key))?.etag)
      await assert.rejects(store.list(p, { limit: 0 }), code('INVALID_ARGUMENT'))
    })

    test('a cursor between keys and a cursor that is not a key both continue after it', async () => {
      const p = ns()
      for (const name of ['a', 'b', 'c', 'd/e']) await store.put(p + name, bytes(name))
      assert.deepEqual((await store.list(p, { startAfter: `${p}b` })).objects.map((o) => o.key), [`${p}c`, `${p}d/e`])
      assert.deepEqual((await store.list(p, { startAfter: `${p}bb` })).objects.map((o) => o.key), [`${p}c`, `${p}d/e`])
      assert.deepEqual((await store.list(p, { startAfter: `${p}d/` })).objects.map((o) => o.key), [`${p}d/e`])
      assert.deepEqual((await store.list(p, { startAfter: `${p}d/e` })).objects, [])
    })

    test('bad keys are INVALID_ARGUMENT for every operation, and nothing is written', async () => {
      const p = ns()
      const bad = ['', '/abs', `${p}a//b`, `${p}trailing/`, `${p}./x`, `${p}a/../b`, '..', `${p}nul\u0000`, `${p}line\nbreak`, `${p}del\u007f`, p + 'x'.repeat(1025)]
      for (const k of bad) {
        await assert.rejects(store.put(k, bytes('x')), code('INVALID_ARGUMENT'), JSON.stringify(k))
        await assert.rejects(store.get(k), code('INVALID_ARGUMENT'), JSON.stringify(k))
        await assert.rejects(store.head(k), code('INVALID_ARGUMENT'), JSON.stringify(k))
        await assert.rejects(store.delete(k), code('INVALID_ARGUMENT'), JSON.stringify(k))
      }
      await assert.rejects(store.list('/abs'), code('INVALID_ARGUMENT'))
      assert.deepEqual(await listAll(store, p), [])
    })

    test('an empty object', async () => {
      const k = `${ns()}empty`
      const { etag } = await store.put(k, new Uint8Array(0))
      const got = await store.get(k)
      assert.equal(got.bytes.length, 0)
      assert.equal(got.size, 0)
      assert.equal(got.etag, etag)
      assert.equal((await store.get(k, { range: { start: 0 } })).bytes.length, 0)
      assert.equal((await store.head(k))?.size, 0)
    })

    test('a large object round-trips, whole and by range', async () => {
      const size = options.largeObjectBytes ?? 1.5 * 1024 * 1024
      const k = `${ns()}large.bin`
      const body = patternBytes(size, 7)
      const { etag } = await store.put(k, body)
      const got = await store.get(k)
      assert.equal(got.size, size)
      assert.ok(Buffer.from(got.bytes).equals(Buffer.from(body)), 'same bytes')
      assert.equal(got.etag, etag)
      const mid = Math.floor(size / 2)
      const part = await store.get(k, { range: { start: mid - 1000, end: mid + 1000 } })
      assert.ok(Buffer.from(part.bytes).equals(Buffer.from(body.subarray(mid - 1000, mid + 1000))))
      assert.equal((await store.head(k))?.size, size)
    })

    test('unicode keys round-trip and list', async () => {
      const p = ns()
      const k = `${p}日本/ключ/\u{1f600} space+plus%pct&amp=eq?q.json`
      await store.put(k, bytes('u'))
      assert.equal(text((await store.get(k)).bytes), 'u')
      assert.deepEqual(await listAll(store, p), [k])
      assert.deepEqual(await listAll(store, `${p}日本/`), [k])
      await store.delete(k)
      assert.equal(await store.head(k), undefined)
    })

    if (conditional) {
      test('ifNoneMatch creates once; a second create is PRECONDITION_FAILED and changes nothing', async () => {
        const k = `${ns()}latest.json`
        const { etag } = await store.put(k, bytes('one'), { condition: { ifNoneMatch: '*' } })
        await assert.rejects(store.put(k, bytes('two'), { condition: { ifNoneMatch: '*' } }), code('PRECONDITION_FAILED'))
        const got = await store.get(k)
        assert.equal(text(got.bytes), 'one')
        assert.equal(got.etag, etag)
      })

      test('ifMatch replaces only the version read: a stale or made-up etag and a missing key fail', async () => {
        const k = `${ns()}latest.json`
        const first = await store.put(k, bytes('one'))
        const second = await store.put(k, bytes('two'), { condition: { ifMatch: first.etag } })
        assert.equal((await store.head(k))?.etag, second.etag)
        await assert.rejects(store.put(k, bytes('three'), { condition: { ifMatch: first.etag } }), code('PRECONDITION_FAILED'))
        await assert.rejects(store.put(k, bytes('three'), { condition: { ifMatch: 'deadbeef' } }), code('PRECONDITION_FAILED'))
        await assert.rejects(store.put(`${k}.missing`, bytes('x'), { condition: { ifMatch: second.etag } }), code('PRECONDITION_FAILED'))
        assert.equal(await store.head(`${k}.missing`), undefined)
        const third = await store.put(k, bytes('three'), { condition: { ifMatch: second.etag } })
        assert.equal(text((await store.get(k)).bytes), 'three')
        assert.equal((await store.get(k)).etag, third.etag)
        await store.delete(k)
        await store.put(k, bytes('again'), { condition: { ifNoneMatch: '*' } })
      })

      test('racing compare-and-swaps: of N puts with the same etag exactly one wins, round after round', async () => {
        const seed = testSeed()
        await withSeed(seed, async () => {
          const k = `${ns()}latest.json`
          let { etag } = await store.put(k, bytes('round 0'))
          for (let round = 1; round <= 5; round++) {
            const results = await Promise.allSettled(
              Array.from({ length: racers }, (_, i) => store.put(k, bytes(`round ${round} by ${i} seed ${seed}`), { condition: { ifMatch: etag } })),
            )
            const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, etag: r.value.etag }] : []))
            for (const r of results) if (r.status === 'rejected') code('PRECONDITION_FAILED')(r.reason)
            assert.equal(won.length, 1, `round ${round}: ${won.length} winners`)
            const got = await store.get(k)
            assert.equal(text(got.bytes), `round ${round} by ${won[0]!.i} seed ${seed}`)
            assert.equal(got.etag, won[0]!.etag)
            etag = got.etag
          }
        })
      })

      test('racing creates: of N ifNoneMatch puts exactly one wins', async () => {
        for (let round = 0; round < 3; round++) {
          const k = `${ns()}lock`
          const results = await Promise.allSettled(
            Array.from({ length: racers }, (_, i) => store.put(k, bytes(`by ${i}`), { condition: { ifNoneMatch: '*' } })),
          )
          const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
          for (const r of results) if (r.status === 'rejected') code('PRECONDITION_FAILED')(r.reason)
          assert.equal(won.length, 1, `round ${round}: ${won.length} winners`)
          assert.equal(text((await store.get(k)).bytes), `by ${won[0]}`)
        }
      })

      test('the probe finds conditional writes enforced and leaves nothing behind', async () => {
        assert.deepEqual(await probeConditionalWrites(store), { enforced: true })
        assert.deepEqual(await listAll(store, '_cairn/probe/'), [])
      })
    } else {
      test('the probe finds conditional writes NOT enforced (this server ignores If-None-Match/If-Match) and cleans up', async () => {
        const result = await probeConditionalWrites(store)
        assert.equal(result.enforced, false)
        assert.deepEqual(await listAll(store, '_cairn/probe/'), [])
      })
    }
  })
}
