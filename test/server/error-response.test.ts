/**
 * Every engine error code answers with a status that tells the client what to do: 4xx for its
 * input, 409 for a conflict it can resolve, 503 to retry; 500 only for the server's own failure
 * (corruption, I/O, a bug). The table is typed against `ErrorCode`, so a new code must be given one.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError } from '../../src/io/errors.js'
import { toErrorResponse } from '../../src/server/error-response.js'

test('the codes a client can act on are not 500', () => {
  const expected = {
    KEY_EMPTY: 400,
    LSN_MISMATCH: 409,
    LOG_SEALED: 409,
    TARGET_NOT_EMPTY: 409,
    READ_ONLY: 409,
    WRITES_PAUSED: 503,
    STORE_NOT_FOUND: 404,
  } as const
  for (const [code, status] of Object.entries(expected)) {
    const answer = toErrorResponse(new CairnError(code as keyof typeof expected, 'x'))
    assert.equal(answer.status, status, code)
    assert.equal(answer.body.error.code, code)
  }
})
