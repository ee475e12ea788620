/**
 * The conformance suite of log readers: anything that reads a log someone else writes (the file
 * log itself, a read-only file log beside a writer, a partition's reader, a StoreReader) must
 * show exactly the acknowledged records, in order, within the bounds asked, and follow new ones.
 *
 * The shape is minimal on purpose, so that any reader fits with a small adapter:
 *
 *   open() -> {
 *     append(payloads): Promise<number>   // one batch through the writer; resolves with its
 *                                         // last LSN once acknowledged
 *     reader: {
 *       readBatches(fromLsn, toLsn?)      // async iterable of non-empty arrays of entries
 *       read(fromLsn, toLsn?)             // async iterable of entries
 *       tail(fromLsn, { signal })         // async iterable: what is there, then new entries,
 *     }                                   // until `signal` aborts
 *     refresh?(): Promise<void>           // a reader that must look for new records (read-only
 *                                         // beside a writer) is asked to after each append
 *     cleanup(): Promise<void>
 *   }
 *
 * An entry is `{ lsn, payload }` (more fields are ignored). The log starts empty; its first LSN
 * is whatever the first append returns.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

export interface ReaderEntry {
  lsn: number
  payload: Uint8Array
}

export interface LogReaderShape {
  readBatches(fromLsn: number, toLsn?: number): AsyncIterable<ReaderEntry[]>
  read(fromLsn: number, toLsn?: number): AsyncIterable<ReaderEntry>
  tail(fromLsn: number, options: { signal: AbortSignal }): AsyncIterable<ReaderEntry>
}

export interface LogReaderUnderTest {
  append(payloads: Uint8Array[]): Promise<number>
  reader: LogReaderShape
  refresh?(): Promise<void>
  cleanup(): Promise<void>
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const payloadOf = (tag: string): Uint8Array => enc.encode(tag)
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

async function collect(entries: AsyncIterable<ReaderEntry>): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = []
  for await (const e of entries) out.push([e.lsn, dec.decode(e.payload)])
  return out
}

/** Appends `count` batches of one to three records concurrently; returns LSN -> payload of all of them. */
async function appendSome(t: LogReaderUnderTest, tag: string, count: number, into: Map<number, string>): Promise<void> {
  await Promise.all(
    range(1, count).map(async (i) => {
      const texts = range(1, (i % 3) + 1).map((j) => `${tag}-${i}-${j}`)
      const last = await t.append(texts.map(payloadOf))
      for (const [k, text] of texts.entries()) into.set(last - texts.length + 1 + k, text)
    }),
  )
  await t.refresh?.()
}

function expected(acknowledged: Map<number, string>, from: number, to = Number.POSITIVE_INFINITY): Array<[number, string]> {
  return [...acknowledged].filter(([lsn]) => lsn >= from && lsn <= to).sort((a, b) => a[0] - b[0])
}

export function describeLogReaderConformance(name: string, open: () => Promise<LogReaderUnderTest>): void {
  describe(`log reader conformance: ${name}`, () => {
    const withReader = async (body: (t: LogReaderUnderTest) => Promise<void>): Promise<void> => {
      const t = await open()
      try {
        await body(t)
      } finally {
        await t.cleanup()
      }
    }

    test('sees exactly the acknowledged records, in order, after every round of appends', async () => {
      await withReader(async (t) => {
        const acknowledged = new Map<number, string>()
        for (let round = 0; round < 5; round++) {
          await appendSome(t, `r${round}`, 10, acknowledged)
          const first = Math.min(...acknowledged.keys())
          const want = expected(acknowledged, first)
          assert.deepEqual(
            want.map(([lsn]) => lsn),
            range(first, first + acknowledged.size - 1),
            'the writer gave dense LSNs',
          )
          assert.deepEqual(await collect(t.reader.read(first)), want)
        }
      })
    })

    test('respects its bounds: from any LSN, up to toLsn, nothing past the end', async () => {
      await withReader(async (t) => {
        const acknowledged = new Map<number, string>()
        await appendSome(t, 'b', 20, acknowledged)
        const first = Math.min(...acknowledged.keys())
        const last = Math.max(...acknowledged.keys())
        for (const from of [first, first + 1, first + 7, last]) assert.deepEqual(await collect(t.reader.read(from)), expected(acknowledged, from))
        assert.deepEqual(await collect(t.reader.read(first + 3, first + 9)), expected(acknowledged, first + 3, first + 9))
        assert.deepEqual(await collect(t.reader.read(first + 3, first + 3)), expected(acknowledged, first + 3, first + 3))
        assert.deepEqual(await collect(t.reader.read(first + 5, first + 4)), [])
        assert.deepEqual(await collect(t.reader.read(last + 1)), [])
        assert.deepEqual(await collect(t.reader.read(first, last + 100)), expected(acknowledged, first))
        const batched: Array<[number, string]> = []
        for await (const batch of t.reader.readBatches(first + 2, last - 2)) {
          assert.ok(batch.length > 0, 'no empty batch')
          for (const e of batch) batched.push([e.lsn, dec.decode(e.payload)])
        }
        assert.deepEqual(batched, expected(acknowledged, first + 2, last - 2))
      })
    })

    test('a tail yields what is there, then new appends, and ends when aborted', async () => {
      await withReader(async (t) => {
        const acknowledged = new Map<number, string>()
        await appendSome(t, 'old', 5, acknowledged)
        const first = Math.min(...acknowledged.keys())
        const ac = new AbortController()
        const seen: Array<[number, string]> = []
        let target = Number.POSITIVE_INFINITY
        const tail = (async () => {
          for await (const e of t.reader.tail(first + 1, { signal: ac.signal })) {
            seen.push([e.lsn, dec.decode(e.payload)])
            if (e.lsn >= target) ac.abort()
          }
        })()
        for (let i = 0; i < 5; i++) {
          const last = await t.append([payloadOf(`new-${i}`)])
          acknowledged.set(last, `new-${i}`)
          await t.refresh?.()
        }
        target = Math.max(...acknowledged.keys())
        // Nudge a tail that had already yielded the last record before `target` was known.
        const last = await t.append([payloadOf('nudge')])
        acknowledged.set(last, 'nudge')
        await t.refresh?.()
        await tail
        assert.deepEqual(seen, expected(acknowledged, first + 1, seen[seen.length - 1]![0]))
        assert.ok(seen[seen.length - 1]![0] >= target)
      })
    })

    test('a tail waiting past the end ends cleanly on abort, yielding nothing', async () => {
      await withReader(async (t) => {
        const acknowledged = new Map<number, string>()
        await appendSome(t, 'w', 3, acknowledged)
        const ac = new AbortController()
        const waiting = collect(t.reader.tail(Math.max(...acknowledged.keys()) + 1, { signal: ac.signal }))
        await new Promise((resolve) => setTimeout(resolve, 30))
        ac.abort()
        assert.deepEqual(await waiting, [])
        const already = new AbortController()
        already.abort()
        assert.deepEqual(await collect(t.reader.tail(Math.min(...acknowledged.keys()), { signal: already.signal })), [], 'an aborted signal yields nothing')
      })
    })
  })
}
