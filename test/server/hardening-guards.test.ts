/**
 * Safe defaults and strict input against a real `cairn serve`: a web page in a local browser
 * cannot write (media type, Origin, Host), bytes that are not text are refused instead of
 * mangled, binary keys are reachable from the URL, and Node's own early answers are JSON.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { cairn } from '../helpers/cli-helpers.js'
import { type Served, startServe } from '../helpers/serve-process.js'
import { rawRequest } from '../helpers/server-helpers.js'

const jsonHeaders = { 'content-type': 'application/json' }

/** Sends raw bytes on a fresh socket and returns what comes back until the server closes. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    let out = ''
    socket.on('data', (c) => {
      out += c
    })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
}

describe('serve: a browser page cannot write, and text must be text', () => {
  let s: Served
  before(async () => {
    s = await startServe(['--cors-origin', 'http://app.example:3000'])
  })
  after(async () => {
    assert.equal(await s.stop(), 0, s.stderr())
  })
  const partitions = async (): Promise<string[]> =>
    ((await (await fetch(`${s.url}/v1/status`)).json()) as { partitions: Array<{ id: string }> }).partitions.map((p) => p.id)

  test('a cross-origin text/plain POST (no preflight) is refused and writes nothing', async () => {
    const batch = JSON.stringify({ ops: [{ type: 'deleteRange', start: 'a', end: 'z' }] })
    const attempts: Array<[string, Record<string, string>, number, string]> = [
      // What a page can send without a preflight: text/plain, with its Origin.
      ['text/plain from evil', { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://evil.example' }, 403, 'FORBIDDEN_ORIGIN'],
      ['text/plain, no origin', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['no content type (a Blob body)', {}, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['form post', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['json from evil', { ...jsonHeaders, origin: 'http://evil.example' }, 403, 'FORBIDDEN_ORIGIN'],
      ['null origin', { ...jsonHeaders, origin: 'null' }, 403, 'FORBIDDEN_ORIGIN'],
      // DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header gives it away.
      ['rebound host name', { ...jsonHeaders, host: `evil.example:${s.port}` }, 403, 'FORBIDDEN_HOST'],
      ['gzip body', { ...jsonHeaders, 'content-encoding': 'gzip' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ]
    for (const [what, headers, status, code] of attempts) {
      const res = await rawRequest(s.port, 'POST', '/v1/partitions/victim/batch', batch, headers)
      assert.equal(res.status, status, `${what}: ${res.body}`)
      assert.equal(JSON.parse(res.body).error.code, code, what)
    }
    assert.deepEqual(await partitions(), [])
  })

  test('an allowed origin gets its preflight and CORS headers; same-origin and named hosts pass', async () => {
    const pre = await rawRequest(s.port, 'OPTIONS', '/v1/partitions/web/records', undefined, {
      origin: 'http://app.example:3000',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    })
    assert.equal(pre.status, 204)
    assert.equal(pre.headers['access-control-allow-origin'], 'http://app.example:3000')
    assert.match(String(pre.headers['access-control-allow-headers']), /content-type/)
    const deniedPre = await rawRequest(s.port, 'OPTIONS', '/v1/partitions/web/records', undefined, { origin: 'http://evil.example', 'access-control-request-method': 'POST' })
    assert.equal(deniedPre.status, 403)
    const ok = await rawRequest(s.port, 'POST', '/v1/partitions/web/records', '{"records":[{"payload":"x"}]}', { ...jsonHeaders, origin: 'http://app.example:3000' })
    assert.equal(ok.status, 200, ok.body)
    assert.equal(ok.headers['access-control-allow-origin'], 'http://app.example:3000')
    const same = await rawRequest(s.port, 'POST', '/v1/partitions/web/records', '{"records":[{"payload":"y"}]}', { ...jsonHeaders, origin: `http://127.0.0.1:${s.port}` })
    assert.equal(same.status, 200, same.body)
    for (const host of [`localhost:${s.port}`, `127.0.0.1:${s.port}`, `[::1]:${s.port}`]) {
      const res = await rawRequest(s.port, 'GET', '/v1/status', undefined, { host })
      assert.equal(res.status, 200, host)
    }
  })

  test('lone surrogates and bytes that are not UTF-8 are 400 INVALID_TEXT, never U+FFFD', async () => {
    const cases: Array<[string, string, string | Buffer, Record<string, string>]> = [
      ['payload', '/v1/partitions/t/records', '{"records":[{"payload":"\\ud800"}]}', jsonHeaders],
      ['key', '/v1/partitions/t/batch', '{"ops":[{"type":"put","key":"\\udfff","value":"v"}]}', jsonHeaders],
      ['value', '/v1/partitions/t/batch', '{"ops":[{"type":"put","key":"k","value":"a\\udc00b"}]}', jsonHeaders],
      ['raw 0xff in a JSON string', '/v1/partitions/t/records', Buffer.concat([Buffer.from('{"records":[{"payload":"'), Buffer.from([0xff]), Buffer.from('"}]}')]), jsonHeaders],
    ]
    for (const [what, path, body, headers] of cases) {
      const res = await rawRequest(s.port, 'POST', path, body, headers)
      assert.equal(res.status, 400, `${what}: ${res.body}`)
      assert.equal(JSON.parse(res.body).error.code, 'INVALID_TEXT', what)
    }
    const scan = await rawRequest(s.port, 'GET', '/v1/partitions/web/scan?lt=%FF')
    assert.equal(scan.status, 400, scan.body)
    assert.equal(JSON.parse(scan.body).error.code, 'INVALID_TEXT')
    assert.deepEqual(await partitions(), ['web'])
  })

  test('binary keys: written with keyBase64, read, scanned by base64 bounds and deleted from the URL', async () => {
    const f0 = Buffer.from([0xf0]).toString('base64')
    const write = await fetch(`${s.url}/v1/partitions/bin/batch`, {
      method: 'POST',
      headers: jsonHeaders,
      body: JSON.stringify({ ops: [{ type: 'put', keyBase64: f0, value: 'f0' }, { type: 'put', key: 'a', value: 'a' }] }),
    })
    assert.equal(write.status, 200, await write.text())
    const got = await fetch(`${s.url}/v1/partitions/bin/kv?keyBase64=${encodeURIComponent(f0)}`)
    assert.equal(got.status, 200)
    assert.equal(await got.text(), 'f0')
    const scan = (await (await fetch(`${s.url}/v1/partitions/bin/scan?ltBase64=${encodeURIComponent('/w==')}`)).json()) as { entries: unknown[] }
    assert.deepEqual(scan.entries, [
      { key: 'a', value: 'a' },
      { keyBase64: f0, value: 'f0' },
    ])
    const put = await fetch(`${s.url}/v1/partitions/bin/kv?keyBase64=${encodeURIComponent('/w==')}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: 'ff' })
    assert.equal(put.status, 200)
    const del = await fetch(`${s.url}/v1/partitions/bin/kv?keyBase64=${encodeURIComponent(f0)}`, { method: 'DELETE' })
    assert.equal(del.status, 200)
    assert.equal((await fetch(`${s.url}/v1/partitions/bin/kv?keyBase64=${encodeURIComponent(f0)}`)).status, 404)
    assert.equal(await (await fetch(`${s.url}/v1/partitions/bin/kv?keyBase64=${encodeURIComponent('/w==')}`)).text(), 'ff')
    const both = await fetch(`${s.url}/v1/partitions/bin/kv?key=a&keyBase64=YQ==`)
    assert.equal(both.status, 400)
  })

  test('ops: start after end, unknown fields and a field of another op type are 400, nothing written', async () => {
    const bodies = [
      { ops: [{ type: 'deleteRange', start: 'z', end: 'a' }] },
      { ops: [{ type: 'put', key: 'k', value: 'v', ttl: 5 }] },
      { ops: [{ type: 'delete', key: 'k', value: 'v' }] },
      { ops: [{ type: 'put', key: 'k', keyBase64: 'aw==', value: 'v' }] },
    ]
    for (const body of bodies) {
      const res = await fetch(`${s.url}/v1/partitions/ops/batch`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify(body) })
      const answer = (await res.json()) as { error: { code: string } }
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.equal(answer.error.code, 'INVALID_REQUEST')
    }
    assert.ok(!(await partitions()).includes('ops'))
  })

  test("Node's early answers are JSON: 417 for an unknown Expect, 400 for a missing Host", async () => {
    const expect = await rawRequest(s.port, 'GET', '/v1/status', undefined, { expect: 'something-else' })
    assert.equal(expect.status, 417)
    assert.equal(JSON.parse(expect.body).error.code, 'EXPECTATION_FAILED')
    const noHost = await rawExchange(s.port, 'GET /v1/status HTTP/1.1\r\n\r\n')
    assert.match(noHost, /^HTTP\/1\.1 400 /)
    assert.equal(JSON.parse(noHost.slice(noHost.indexOf('\r\n\r\n') + 4)).error.code, 'INVALID_REQUEST')
  })

  test('a transfer coding other than chunked is 501 UNSUPPORTED_TRANSFER_ENCODING and stores nothing', async () => {
    // ASCII bytes claimed to be gzip: the claim alone must be refused (rawExchange writes UTF-8).
    const gz = Buffer.from('claimed to be gzip')
    const head = (te: string) =>
      `PUT /v1/partitions/te/kv/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: ${te}\r\n\r\n${gz.length.toString(16)}\r\n`
    for (const te of ['gzip, chunked', 'deflate,chunked', 'identity, chunked']) {
      const out = await rawExchange(s.port, head(te) + gz.toString('latin1') + '\r\n0\r\n\r\n')
      assert.match(out, /^HTTP\/1\.1 501 /, `${te}: ${out}`)
      assert.equal(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)).error.code, 'UNSUPPORTED_TRANSFER_ENCODING', te)
    }
    assert.equal((await fetch(`${s.url}/v1/partitions/te/kv/k`)).status, 404)
    // Plain chunked is still fine.
    const ok = await rawExchange(s.port, `${head('chunked')}${gz.toString('latin1')}\r\n0\r\n\r\nGET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
    assert.match(ok, /^HTTP\/1\.1 20\d /, ok)
    const res = await fetch(`${s.url}/v1/partitions/te/kv/k`)
    assert.equal(res.status, 200)
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(gz))
  })

  test('Expect: 100-continue: a body refused on its headers is answered without 100 Continue; an accepted one gets it', async () => {
    const exchange = (length: number, body: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(s.port, '127.0.0.1', () =>
          socket.write(`POST /v1/partitions/cont/records HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n`),
        )
        let out = ''
        socket.on('data', (c) => {
          out += c
          // The body goes only after 100 Continue, as curl does.
          if (out.startsWith('HTTP/1.1 100 ') && body !== '') {
            socket.write(body)
            body = ''
          }
        })
        socket.on('close', () => resolve(out))
        socket.on('error', reject)
      })
    const refused = await exchange(64 * 1024 * 1024, '')
    assert.match(refused, /^HTTP\/1\.1 413 /)
    assert.match(refused, /BODY_TOO_LARGE/)
    const body = '{"records":[{"payload":"c"}]}'
    const accepted = await exchange(body.length, body)
    assert.match(accepted, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /)
  })

  test('a client that aborts its upload is counted as 499, not a 500, and not logged as an error', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write(`POST /v1/partitions/ab/records HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"records":[`)
        setTimeout(() => socket.destroy(), 100)
      })
      socket.on('close', () => resolve())
      socket.on('error', reject)
    })
    let text = ''
    for (let i = 0; i < 50 && !/status="499"/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 20))
      text = await (await fetch(`${s.url}/metrics`)).text()
    }
    assert.match(text, /cairn_http_requests_total\{method="POST",route="\/v1\/partitions\/:p\/records",status="499"\} 1/)
    assert.doesNotMatch(text, /status="500"/)
    assert.doesNotMatch(s.stderr(), /"level":50/)
  })
})

describe('serve: an empty token is refused', () => {
  test('--token "" and an empty CAIRN_TOKEN exit 2 instead of serving without auth', async () => {
    const flag = await cairn(['serve', '--port', '0', '--data', '/nonexistent/never-created', '--token', ''])
    assert.equal(flag.code, 2, flag.stderr)
    assert.match(flag.stderr, /token is empty/)
    const env = await cairn(['serve', '--port', '0', '--data', '/nonexistent/never-created'], { env: { CAIRN_TOKEN: '' } })
    assert.equal(env.code, 2, env.stderr)
    assert.match(env.stderr, /CAIRN_TOKEN is set but empty/)
  })
})
