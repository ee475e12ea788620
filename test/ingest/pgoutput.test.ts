/**
 * The pgoutput decoder on bytes Postgres would never send (a protocol defect, not an outage):
 * every malformed message is `SOURCE_PROTOCOL`, which the supervisor does not retry, with a
 * message that says what to do; never a raw RangeError, never `SOURCE_UNAVAILABLE`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isTransientIngestError } from '../../src/ingest/index.js'
import { decodePgoutput } from '../../src/ingest/postgres/pgoutput.js'
import { CairnError } from '../../src/io/index.js'

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)))
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
const i16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff]

const malformed: [string, Uint8Array][] = [
  ['a begin cut short', bytes('B', [0, 0, 0])],
  ['an empty message', new Uint8Array()],
  ['a relation whose name is unterminated', bytes('R', u32(1), 'public\0orders')],
  ['an insert with an unknown column kind', bytes('I', u32(1), 'N', i16(1), 'b')],
  ['an insert whose text value is cut short', bytes('I', u32(1), 'N', i16(1), 't', u32(10), 'abc')],
  ['an update with an unknown submessage', bytes('U', u32(1), 'X')],
  ['a delete with an unknown submessage', bytes('D', u32(1), 'N', i16(0))],
  ['a logical message whose content is cut short', bytes('M', [1], [0, 0, 0, 0, 0, 0, 0, 1], 'cairn\0', u32(100), 'x')],
]

for (const [what, message] of malformed) {
  test(`${what}: SOURCE_PROTOCOL, not retried, telling the operator what to do`, () => {
    let thrown: unknown
    try {
      decodePgoutput(message)
    } catch (e) {
      thrown = e
    }
    assert.ok(thrown instanceof CairnError, `a CairnError, got ${String(thrown)}`)
    assert.equal(thrown.code, 'SOURCE_PROTOCOL')
    assert.match(thrown.message, /malformed/)
    assert.match(thrown.message, /Postgres version/)
    assert.equal(isTransientIngestError(thrown), false)
  })
}

test('a well-formed insert still decodes', () => {
  const msg = decodePgoutput(bytes('I', u32(7), 'N', i16(3), 't', u32(2), '42', 'n', 'u'))
  assert.equal(msg.tag, 'insert')
  assert.equal(msg.tag === 'insert' && msg.oid, 7)
  assert.deepEqual(msg.tag === 'insert' && msg.newTuple.slice(0, 2), ['42', null])
})
