/**
 * Bounded work against a real `cairn serve`: a body of a million tiny records is refused
 * while other clients are served, pages are cut by bytes with a working continuation, and a
 * body refused before it is read still gets its 4xx (lingering close), never a broken pipe.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Served, startServe } from '../helpers/serve-process.js'
import { postOnce } from '../helpers/server-helpers.js'

const mib = 1024 * 1024

describe('serve: bounded work and pages', () => {
  let s: Served
  before(async () => {
    s = await startServe()
  })
  after(async () => {
    assert.equal(await s.stop(), 0, s.stderr())
  })

  test('a body of 1,000,000 empty records is 413 BATCH_TOO_LARGE, /v1/status is answered meanwhile, nothing is created', async () => {
    // How fast both happen is measured by bench/server-refusal-probe.ts, not asserted here.
    const body = new TextEncoder().encode(`{"records":[${'{"payload":""},'.repeat(999_999)}{"payload":""}]}`)
    assert.ok(body.length > 14 * mib)
    for (let round = 0; round < 3; round++) {
      const refused = postOnce(s.port, '/v1/partitions/big/records', body)
      const status = await fetch(`${s.url}/v1/status`)
      assert.equal(status.status, 200)
      await status.text()
      const res = await refused
      const answer = JSON.parse(res.body) as { error: { code: string } }
      assert.equal(res.status, 413, JSON.stringify(answer))
      assert.equal(answer.error.code, 'BATCH_TOO_LARGE')
    }
    const status = (await (await fetch(`${s.url}/v1/status`)).json()) as { partitions: unknown[] }
    assert.deepEqual(status.partitions, [], 'nothing was created')
  })

  test('a page of 1 MiB records is cut by bytes; following `next` reads every record once, in order', async () => {
    const n = 12
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${s.url}/v1/partitions/pages/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ payload: String.fromCharCode(97 + i).repeat(mib) }] }),
      })
      assert.equal(res.status, 200)
    }
    const seen: number[] = []
    let pages = 0
    let next: number | undefined = 1
    while (next !== undefined) {
      const res = await fetch(`${s.url}/v1/partitions/pages/records?from=${next}`)
      assert.equal(res.status, 200)
      const text = await res.text()
      assert.ok(text.length <= 4 * mib + 64 * 1024 + mib, `a default page is about 4 MiB (got ${text.length} bytes)`)
      const page = JSON.parse(text) as { records: Array<{ lsn: number; payload: string }>; next?: number }
      assert.ok(page.records.length >= 1)
      for (const r of page.records) {
        assert.equal(r.payload, String.fromCharCode(97 + r.lsn - 1).repeat(mib))
        seen.push(r.lsn)
      }
      pages++
      next = page.next
    }
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i + 1))
    assert.ok(pages >= 3, `12 MiB in pages of 4 MiB (got ${pages} pages)`)
    // maxBytes smaller than one record: still one record per page, so a reader always moves on.
    const one = (await (await fetch(`${s.url}/v1/partitions/pages/records?from=5&maxBytes=1`)).json()) as { records: Array<{ lsn: number }>; next?: number }
    assert.deepEqual(
      one.records.map((r) => r.lsn),
      [5],
    )
    assert.equal(one.next, 6)
    // A page cut by count says where to go on, and the last page has no `next`.
    const counted = (await (await fetch(`${s.url}/v1/partitions/pages/records?from=11&limit=1`)).json()) as { next?: number }
    assert.equal(counted.next, 12)
    const last = (await (await fetch(`${s.url}/v1/partitions/pages/records?from=12&limit=1`)).json()) as { next?: number }
    assert.equal(last.next, undefined)
    const tooBig = await fetch(`${s.url}/v1/partitions/pages/records?maxBytes=${1024 * mib}`)
    assert.equal(tooBig.status, 400)
  })

  test('a scan of 1 MiB values is cut by bytes; following the next key reads every entry once', async () => {
    const n = 10
    const ops = Array.from({ length: n }, (_, i) => ({ type: 'put', key: `k${String(i).padStart(2, '0')}`, value: 'v'.repeat(mib) }))
    const res = await fetch(`${s.url}/v1/partitions/scanned/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ops }) })
    assert.equal(res.status, 200, await res.text())
    for (const reverse of [false, true]) {
      const keys: string[] = []
      let query = reverse ? 'reverse=true' : ''
      let pages = 0
      for (;;) {
        const page = (await (await fetch(`${s.url}/v1/partitions/scanned/scan?${query}`)).json()) as {
          entries: Array<{ key: string; value: string }>
          next?: { key?: string; keyBase64?: string }
        }
        pages++
        for (const e of page.entries) keys.push(e.key)
        if (page.next === undefined) break
        assert.ok(page.next.keyBase64 !== undefined)
        query = `${reverse ? 'reverse=true&lteBase64' : 'gteBase64'}=${encodeURIComponent(page.next.keyBase64)}`
      }
      const expected = ops.map((o) => o.key)
      assert.deepEqual(keys, reverse ? expected.reverse() : expected)
      assert.ok(pages >= 3, `10 MiB in pages of 4 MiB (got ${pages})`)
    }
  })

  test('a body refused before it is read gets its 413, never a broken pipe (new and kept-alive connections)', async () => {
    const failures: string[] = []
    for (const size of [20 * mib, 64 * mib]) {
      const body = new Uint8Array(size).fill(0x20)
      for (const keepAlive of [false, true]) {
        for (let i = 0; i < 20; i++) {
          // A status request first leaves a kept-alive connection in fetch's pool for the POST.
          if (keepAlive) await (await fetch(`${s.url}/v1/status`)).text()
          try {
            const res = await fetch(`${s.url}/v1/partitions/p1/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
            const answer = (await res.json()) as { error?: { code: string } }
            if (res.status !== 413 || answer.error?.code !== 'BODY_TOO_LARGE') failures.push(`${size} ${keepAlive}: ${res.status} ${JSON.stringify(answer)}`)
          } catch (e) {
            failures.push(`${size} keepAlive=${keepAlive} #${i}: ${(e as Error).message} ${String((e as { cause?: unknown }).cause)}`)
          }
        }
      }
    }
    assert.deepEqual(failures, [])
  })
})
