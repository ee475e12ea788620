/**
 * Lingering close against a slow client: a body refused before it was read (413) is drained
 * while the client keeps sending, however long the whole upload takes within the total bound,
 * as long as it does not stall. A client uploading a large body over a slow link (or on a busy
 * machine) must read its 413, not meet a reset.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { lingerIdleMsMax, lingerMsMax } from '../../src/server/server-limits.js'
import { type Running, startServer } from '../helpers/server-helpers.js'

/** Sends `chunks` chunks of `chunkBytes` every `gapMs`, then reads the answer; rejects on a reset or broken pipe. */
function trickle(port: number, chunks: number, chunkBytes: number, gapMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1')
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const end = text.indexOf('\r\n\r\n')
      if (end === -1) reject(new Error(`closed without an answer after ${sent} of ${chunks} chunks`))
      else if (sent < chunks) reject(new Error(`the server closed after ${sent} of ${chunks} chunks`))
      else resolve({ status: Number(text.slice(9, 12)), body: text.slice(end + 4) })
    })
    let sent = 0
    socket.write(
      `POST /v1/partitions/slow/records HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${chunks * chunkBytes}\r\n\r\n`,
    )
    const chunk = Buffer.alloc(chunkBytes, 0x20)
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer)
      socket.write(chunk)
      if (++sent === chunks) {
        clearInterval(timer)
        socket.end()
      }
    }, gapMs)
  })
}

describe('server: lingering close with a slow client', () => {
  let s: Running
  before(async () => {
    s = await startServer({ bodyBytesMax: 1024, requestTimeoutMs: 120_000 })
  })
  after(async () => {
    await s.stop()
  })

  test('a refused body sent steadily for longer than the idle bound is drained, and the client reads its 413', async () => {
    // Gaps far under the idle bound; the upload as a whole lasts 1.5 idle bounds (the total bound
    // used to be the idle bound: the server cut the socket two thirds through).
    const gapMs = 100
    const chunks = Math.ceil((1.5 * lingerIdleMsMax) / gapMs)
    assert.ok(chunks * gapMs < lingerMsMax / 2, 'the upload fits the total bound with room')
    const res = await trickle(s.port, chunks, 16 * 1024, gapMs)
    assert.equal(res.status, 413)
    assert.equal(JSON.parse(res.body).error.code, 'BODY_TOO_LARGE')
  })

  test('a client that stops sending a refused body is cut after the idle bound', { timeout: 10 * lingerIdleMsMax }, async () => {
    const socket = connect(s.port, '127.0.0.1')
    socket.on('error', () => undefined)
    let text = ''
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1')
    })
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.write('POST /v1/partitions/stall/records HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n')
    socket.write(Buffer.alloc(64 * 1024, 0x20))
    // The client sends nothing more and never ends: only the server's idle bound closes the socket.
    await closed
    assert.match(text, /^HTTP\/1\.1 413 /)
  })
})
