/**
 * The write path's first half, before anything is logged: copy the caller's bytes, run the
 * reducer, validate, and encode the log records. Everything here is synchronous and throws
 * before a record exists, so a bad key or a throwing reducer rejects a write with nothing logged
 * and nothing applied.
 *
 * Invariants:
 * - the bytes of every op are the partition's own (copied from the caller, or made by the
 *   reducer's tx), because state applies them without copying once the log says they are durable;
 * - every op is validated here, so the apply step need not validate again;
 * - a state record is never over the log's record limit (BATCH_TOO_LARGE otherwise); a payload
 *   alone is the record and the log bounds it.
 */
import { CairnError } from '../io/errors.js'
import type { LogRecord } from '../log/frame.js'
import { type StateOp, validateStateOps } from '../state/index.js'
import type { StateOpInput } from './partition-types.js'
import { batchTooLarge, ownBytes, type Reducer, reduce } from './reducer.js'
import { encodeStateBatch, stateBatchBytes, stateRecordType } from './state-record.js'

/** The log record type of an opaque user payload with no state commands. */
export const payloadRecordType = 1

/**
 * The one record of a `write` of `ops` and `payloads` (both already the partition's own) at
 * `lsn`; the reducer's commands for the payloads are added to `ops`.
 */
export function encodeWrite(ops: StateOp[], payloads: Uint8Array[], reducer: Reducer | undefined, lsn: number, recordBytesMax: number): LogRecord {
  let bytes = stateBatchBytes({ ops, payloads })
  if (reducer !== undefined) for (const p of payloads) bytes += reduce(reducer, p, lsn, ops, recordBytesMax - bytes)
  validateStateOps(ops)
  const payloadOnly = ops.length === 0 && payloads.length === 1
  // A payload alone is the record (the log bounds it); a state record over the bound is this batch's fault.
  if (!payloadOnly && bytes > recordBytesMax) throw batchTooLarge(bytes, recordBytesMax)
  return payloadOnly ? { type: payloadRecordType, payload: payloads[0]! } : { type: stateRecordType, payload: encodeStateBatch({ ops, payloads }, bytes) }
}

/**
 * The records of an `append` of `payloads` (the partition's own) from `firstLsn`, one per
 * payload, with each record's ops in `opsByRecord`.
 */
export function encodeAppend(
  payloads: readonly Uint8Array[],
  reducer: Reducer | undefined,
  firstLsn: number,
  recordBytesMax: number,
): { records: LogRecord[]; opsByRecord: StateOp[][] } {
  const records: LogRecord[] = []
  const opsByRecord: StateOp[][] = []
  for (const [i, payload] of payloads.entries()) {
    const ops: StateOp[] = []
    let bytes = stateBatchBytes({ ops, payloads: [payload] })
    if (reducer !== undefined) bytes += reduce(reducer, payload, firstLsn + i, ops, recordBytesMax - bytes)
    validateStateOps(ops)
    opsByRecord.push(ops)
    records.push(ops.length === 0 ? { type: payloadRecordType, payload } : { type: stateRecordType, payload: encodeStateBatch({ ops, payloads: [payload] }, bytes) })
  }
  return { records, opsByRecord }
}

/**
 * The op with bytes of its own: state applies it only once the log says it is durable, and the
 * caller may reuse its buffers as soon as `write` returns (state must hold what the log holds).
 */
export function toStateOp(op: StateOpInput): StateOp {
  switch (op.type) {
    case 'put':
      return { type: 'put', key: ownBytes(op.key), value: ownBytes(op.value) }
    case 'delete':
      return { type: 'delete', key: ownBytes(op.key) }
    case 'deleteRange':
      return { type: 'deleteRange', start: ownBytes(op.start), end: ownBytes(op.end) }
    default:
      throw new CairnError('INVALID_ARGUMENT', `unknown op type ${JSON.stringify((op as { type?: unknown }).type)}: use put, delete or deleteRange`)
  }
}
