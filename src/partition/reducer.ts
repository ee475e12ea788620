/**
 * Reducers: user code that turns an opaque payload into state commands, applied atomically with
 * the record that carries the payload. A reducer must be deterministic and must not read state
 * (it sees only the payload and the LSN); what it emits is stored in the record, so replay and
 * followers never run it again.
 */
import { CairnError } from '../io/errors.js'
import { copyBytes, type StateOp } from '../state/index.js'
import { stateOpBytes } from './state-record.js'

export type Bytes = Uint8Array | string

const encoder = new TextEncoder()

export function toBytes(value: Bytes): Uint8Array {
  if (typeof value === 'string') return encoder.encode(value)
  if (value instanceof Uint8Array) return value
  throw new CairnError('INVALID_ARGUMENT', `expected a string or a Uint8Array, got ${typeof value}`)
}

/**
 * `value` as bytes the engine owns: a copy of a caller's Uint8Array (the caller may reuse its
 * buffer as soon as the call returns, long before the write is durable and applied).
 */
export function ownBytes(value: Bytes): Uint8Array {
  return copyBytes(toBytes(value))
}

/** Like `ownBytes` for a payload, which is kept only until it is logged: a string's encoding is already the engine's own. */
export function ownPayload(value: Bytes): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : copyBytes(toBytes(value))
}

export interface ReducerTx {
  put(key: Bytes, value: Bytes): void
  delete(key: Bytes): void
  deleteRange(start: Bytes, end: Bytes): void
}

/**
 * @example
 * const reducer: Reducer = (payload, lsn, tx) => {
 *   const event = JSON.parse(new TextDecoder().decode(payload))
 *   if (event.type === 'deposit') tx.put(`account/${event.id}`, JSON.stringify({ lsn, amount: event.amount }))
 * }
 */
export type Reducer = (payload: Uint8Array, lsn: number, tx: ReducerTx) => void

/** The error of a batch whose state record would be over the log's record limit. */
export function batchTooLarge(bytes: number, recordBytesMax: number): CairnError {
  return new CairnError(
    'BATCH_TOO_LARGE',
    `the state commands of this batch take more than the record limit of ${recordBytesMax} bytes (${bytes} so far): split the batch (or have the reducer emit fewer commands per payload)`,
    { context: { bytes, recordBytesMax } },
  )
}

/**
 * Runs `reducer` over one payload, adding its commands to `into`; returns the bytes they take in
 * the state record. A throw becomes REDUCER_FAILED and nothing is kept. Commands beyond
 * `bytesMax` fail with BATCH_TOO_LARGE (at once, so a runaway reducer does not fill memory;
 * and even when the reducer catches that error, since nothing of it is kept).
 */
export function reduce(reducer: Reducer, payload: Uint8Array, lsn: number, into: StateOp[], bytesMax: number): number {
  const ops: StateOp[] = []
  let bytes = 0
  let overflow: CairnError | undefined
  const add = (op: StateOp): void => {
    if (overflow !== undefined) throw overflow
    bytes += stateOpBytes(op)
    if (bytes > bytesMax) {
      overflow = batchTooLarge(bytes, bytesMax)
      throw overflow
    }
    ops.push(op)
  }
  const tx: ReducerTx = {
    // Own copies: a reducer may hand out views of the payload or of its own reused buffers.
    put: (key, value) => add({ type: 'put', key: ownBytes(key), value: ownBytes(value) }),
    delete: (key) => add({ type: 'delete', key: ownBytes(key) }),
    deleteRange: (start, end) => add({ type: 'deleteRange', start: ownBytes(start), end: ownBytes(end) }),
  }
  try {
    reducer(payload, lsn, tx)
  } catch (e) {
    if (overflow !== undefined) throw overflow
    throw new CairnError('REDUCER_FAILED', `the reducer threw on the payload at LSN ${lsn}: nothing was written; fix the reducer or the payload`, {
      context: { lsn },
      cause: e,
    })
  }
  if (overflow !== undefined) throw overflow
  // Not `into.push(...ops)`: spreading a few hundred thousand arguments overflows the stack.
  for (const op of ops) into.push(op)
  return bytes
}
