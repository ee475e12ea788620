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
import { decodeStateBatch, encodeStateBatch, stateBatchBytes, stateRecordType } from './state-record.js'

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

/**
 * A record from another store's log, with the LSN it has there: a `PartitionEntry` as `read` and
 * `readBatches` yield it (its `ops` and `payloads` are the state record), or a raw log entry
 * whose `payload` is the record's bytes.
 */
export interface ReplicatedRecord {
  lsn: number
  type: number
  payload: Uint8Array
  ops?: readonly StateOp[]
  payloads?: readonly Uint8Array[]
}

/**
 * The records of `appendReplicated`, with bytes of the partition's own, and the ops each applies
 * (decoded from the record: the reducer ran on the source and never runs again). The LSNs must be
 * dense (LSN_MISMATCH otherwise).
 */
export function encodeReplicated(records: readonly ReplicatedRecord[]): { records: LogRecord[]; opsByRecord: StateOp[][] } {
  if (records.length === 0) throw new CairnError('INVALID_ARGUMENT', 'appendReplicated needs at least one record')
  const first = records[0]!.lsn
  if (!Number.isSafeInteger(first) || first < 1) {
    throw new CairnError('INVALID_ARGUMENT', `a replicated record's LSN is a positive integer (got ${first})`, { context: { lsn: first } })
  }
  const out: LogRecord[] = []
  const opsByRecord: StateOp[][] = []
  for (const [i, r] of records.entries()) {
    if (r.lsn !== first + i) {
      throw new CairnError('LSN_MISMATCH', `replicated records must have dense LSNs: LSN ${r.lsn} follows ${first + i - 1}; nothing was written: send the records in order, without gaps`, {
        context: { expectedLsn: first + i, lsn: r.lsn },
      })
    }
    if (!Number.isInteger(r.type) || r.type < 0 || r.type > 255) {
      throw new CairnError('INVALID_ARGUMENT', `a record's type is a byte (0..255); LSN ${r.lsn} has ${r.type}: nothing was written`, { context: { lsn: r.lsn, type: r.type } })
    }
    if (r.type !== stateRecordType) {
      out.push({ type: r.type, payload: ownBytes(r.payload) })
      opsByRecord.push([])
      continue
    }
    // A decoded entry's `payload` is its first user payload, not the record: encode the record
    // again (the encoding is canonical, so the bytes are the source's).
    const payload = r.ops !== undefined && r.payloads !== undefined ? encodeStateBatch({ ops: [...r.ops], payloads: [...r.payloads] }) : ownBytes(r.payload)
    // Copies: a decoded op views its record, which state need not keep.
    const ops = decodeStateBatch(payload, r.lsn).ops.map(toStateOp)
    validateStateOps(ops)
    out.push({ type: stateRecordType, payload })
    opsByRecord.push(ops)
  }
  return { records: out, opsByRecord }
}

/** LSN_MISMATCH unless replicated records starting at `firstLsn` are the partition's next. */
export function checkReplicatedStart(id: string, firstLsn: number, nextLsn: number, sourceLogId: string | undefined): void {
  if (firstLsn === nextLsn) return
  throw new CairnError(
    'LSN_MISMATCH',
    `partition ${id}: replicated records start at LSN ${firstLsn}${sourceLogId === undefined ? '' : ` (log ${sourceLogId})`} but the next LSN is ${nextLsn}: nothing was written; send the records from LSN ${nextLsn}`,
    { context: { partition: id, expectedLsn: nextLsn, lsn: firstLsn, sourceLogId } },
  )
}
