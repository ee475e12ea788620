/** A source row's value: JSON text in column order, each type encoded as docs/ingest.md says. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { columnJson, rowJson, rowObjectJson } from '../../src/ingest/postgres/row-encoding.js'

test('a row has one JSON text whichever path made it: columns in table order, even names that look like numbers', () => {
  const columns = [
    { name: 'id', typeOid: 23 },
    { name: '2', typeOid: 25 },
    { name: 'big', typeOid: 20 },
    { name: 'tags', typeOid: 1009 },
    { name: 'ok', typeOid: 16 },
    { name: 'doc', typeOid: 3802 },
  ]
  const values = ['-7', 'two', '9007199254740993', '{a,"b c",NULL}', 't', '{"x": [1, 2]}']
  const text = rowJson(columns, values)
  assert.equal(text, '{"id":-7,"2":"two","big":"9007199254740993","tags":["a","b c",null],"ok":true,"doc":{"x":[1,2]}}')
  const object: Record<string, unknown> = {}
  for (const [i, c] of columns.entries()) object[c.name] = columnJson(c.typeOid, values[i]!)
  assert.equal(rowObjectJson(columns, object), text)
})

test('column encodings: int8 and numeric as strings, floats as numbers (NaN as text), bytea as \\x hex, nested arrays, NULL as null', () => {
  assert.equal(columnJson(20, '-9223372036854775808'), '-9223372036854775808')
  assert.equal(columnJson(1700, '12345678901234567890.5'), '12345678901234567890.5')
  assert.equal(columnJson(701, '0.1'), 0.1)
  assert.equal(columnJson(701, 'NaN'), 'NaN')
  assert.equal(columnJson(17, '\\x00ff'), '\\x00ff')
  assert.deepEqual(columnJson(1007, '{{1,2},{3,NULL}}'), [
    [1, 2],
    [3, null],
  ])
  assert.deepEqual(columnJson(1009, '{"a\\"b","c,d",""}'), ['a"b', 'c,d', ''])
  assert.equal(columnJson(1184, null), null)
  assert.equal(columnJson(1184, '2026-12-01 20:37:22.5+00'), '2026-12-01 20:37:22.5+00')
})
