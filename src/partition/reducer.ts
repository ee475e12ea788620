/**
 * Reducers: user code that turns an opaque payload into state commands, applied atomically with
 * the record that carries the payload. A reducer must be deterministic and must not read state
 * (it sees only the payload and the LSN); what it emits is stored in the record, so replay and
 * followers never run it again.
 */
import { CairnError } from '../io/errors.js'
import { copyBytes, type StateOp } from '../state/index.js'

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

/** Runs `reducer` over one payload; a throw becomes REDUCER_FAILED and nothing is kept. */
export function reduce(reducer: Reducer, payload: Uint8Array, lsn: number, into: StateOp[]): void {
  const ops: StateOp[] = []
  const tx: ReducerTx = {
    // Own copies: a reducer may hand out views of the payload or of its own reused buffers.
    put: (key, value) => void ops.push({ type: 'put', key: ownBytes(key), value: ownBytes(value) }),
    delete: (key) => void ops.push({ type: 'delete', key: ownBytes(key) }),
    deleteRange: (start, end) => void ops.push({ type: 'deleteRange', start: ownBytes(start), end: ownBytes(end) }),
  }
  try {
    reducer(payload, lsn, tx)
  } catch (e) {
    throw new CairnError('REDUCER_FAILED', `the reducer threw on the payload at LSN ${lsn}: nothing was written; fix the reducer or the payload`, {
      context: { lsn },
      cause: e,
    })
  }
  into.push(...ops)
}
