/**
 * The log record that carries a state batch: the state commands to apply and the user payloads
 * they came from. The commands a reducer produced are stored, not recomputed, so replaying the
 * log gives the same state even after the reducer's code changes.
 *
 * Layout (the log frame's crc covers it): u8 version | u32 opCount | ops | u32 payloadCount |
 * payloads; op = u8 kind (1 put, 2 delete, 3 deleteRange) | u32 len | key-or-start |
 * [u32 len | value-or-end]; payload = u32 len | bytes.
 */
import { CorruptionError } from '../io/errors.js'
import type { StateOp } from '../state/index.js'

export interface StateBatch {
  ops: StateOp[]
  payloads: Uint8Array[]
}

/** The log record type of a state batch. */
export const stateRecordType = 2
const stateRecordVersion = 1
const kindByType = { put: 1, delete: 2, deleteRange: 3 } as const

/** Bytes `op` takes in a state record. */
export function stateOpBytes(op: StateOp): number {
  switch (op.type) {
    case 'put':
      return 1 + 4 + op.key.length + 4 + op.value.length
    case 'delete':
      return 1 + 4 + op.key.length
    case 'deleteRange':
      return 1 + 4 + op.start.length + 4 + op.end.length
  }
}

/** Bytes of the state record of `batch`. */
export function stateBatchBytes(batch: StateBatch): number {
  let size = 1 + 4 + 4
  for (const op of batch.ops) size += stateOpBytes(op)
  for (const p of batch.payloads) size += 4 + p.length
  return size
}

/** The record of `batch`; `size` is `stateBatchBytes(batch)` when the caller has it already. */
export function encodeStateBatch(batch: StateBatch, size = stateBatchBytes(batch)): Uint8Array {
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  const bytes = (b: Uint8Array): void => {
    view.setUint32(at, b.length, true)
    out.set(b, at + 4)
    at += 4 + b.length
  }
  out[at++] = stateRecordVersion
  view.setUint32(at, batch.ops.length, true)
  at += 4
  for (const op of batch.ops) {
    out[at++] = kindByType[op.type]
    if (op.type === 'put') {
      bytes(op.key)
      bytes(op.value)
    } else if (op.type === 'delete') bytes(op.key)
    else {
      bytes(op.start)
      bytes(op.end)
    }
  }
  view.setUint32(at, batch.payloads.length, true)
  at += 4
  for (const p of batch.payloads) bytes(p)
  return out
}

export function decodeStateBatch(record: Uint8Array, lsn: number): StateBatch {
  const view = new DataView(record.buffer, record.byteOffset, record.length)
  let at = 0
  const bad = (why: string) =>
    new CorruptionError('CORRUPT_LOG', `state record at LSN ${lsn} is malformed (${why}): this log was written by an incompatible cairn`, {
      context: { lsn },
    })
  const u32 = (): number => {
    if (at + 4 > record.length) throw bad('cut short')
    const v = view.getUint32(at, true)
    at += 4
    return v
  }
  const bytes = (): Uint8Array => {
    const n = u32()
    if (at + n > record.length) throw bad('cut short')
    const b = record.subarray(at, at + n)
    at += n
    return b
  }
  if (record[at++] !== stateRecordVersion) throw bad('unknown version')
  const opCount = u32()
  const ops: StateOp[] = []
  for (let i = 0; i < opCount; i++) {
    const kind = record[at++]
    if (kind === 1) ops.push({ type: 'put', key: bytes(), value: bytes() })
    else if (kind === 2) ops.push({ type: 'delete', key: bytes() })
    else if (kind === 3) ops.push({ type: 'deleteRange', start: bytes(), end: bytes() })
    else throw bad(`unknown op kind ${kind}`)
  }
  const payloadCount = u32()
  const payloads: Uint8Array[] = []
  for (let i = 0; i < payloadCount; i++) payloads.push(bytes())
  if (at !== record.length) throw bad('trailing bytes')
  return { ops, payloads }
}
