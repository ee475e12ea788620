/**
 * A log entry as a partition's readers see it: the raw record plus its state batch decoded.
 * `payload` is the record's first user payload (empty for a batch of state commands only).
 */
import type { LogEntry } from '../log/frame.js'
import type { StateOp } from '../state/index.js'
import { decodeStateBatch, stateRecordType } from './state-record.js'

export interface PartitionEntry extends LogEntry {
  payloads: Uint8Array[]
  ops: StateOp[]
}

const empty = new Uint8Array(0)
const noOps: StateOp[] = Object.freeze([]) as unknown as StateOp[]

/** Adds the decoded batch to a fresh log entry in place (no copy: this runs per entry read). */
export function decodeEntry(entry: LogEntry): PartitionEntry {
  const out = entry as PartitionEntry
  if (entry.type === stateRecordType) {
    const { ops, payloads } = decodeStateBatch(entry.payload, entry.lsn)
    out.payload = payloads[0] ?? empty
    out.payloads = payloads
    out.ops = ops
  } else {
    out.payloads = [entry.payload]
    out.ops = noOps
  }
  return out
}
