/** Test helpers for the state engine: a sorted-map model, a replayable log, comparisons. */
import assert from 'node:assert/strict'
import type { LsmTree, ReadSnapshot, ScanRange, StateOp } from '../../src/state/index.js'

export const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex')
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

/** The reference: a map from hex key (hex order = unsigned byte order) to value. */
export class Model {
  map = new Map<string, Uint8Array>()

  apply(ops: readonly StateOp[]): void {
    for (const op of ops) {
      if (op.type === 'put') this.map.set(hex(op.key), new Uint8Array(op.value))
      else if (op.type === 'delete') this.map.delete(hex(op.key))
      else {
        const a = hex(op.start)
        const e = hex(op.end)
        for (const k of [...this.map.keys()]) if (k >= a && k < e) this.map.delete(k)
      }
    }
  }

  clone(): Model {
    const m = new Model()
    m.map = new Map(this.map)
    return m
  }

  entries(range: ScanRange = {}): [string, string][] {
    let keys = [...this.map.keys()].sort()
    const { gte, gt, lte, lt } = range
    if (gte !== undefined) keys = keys.filter((k) => k >= hex(gte))
    if (gt !== undefined) keys = keys.filter((k) => k > hex(gt))
    if (lte !== undefined) keys = keys.filter((k) => k <= hex(lte))
    if (lt !== undefined) keys = keys.filter((k) => k < hex(lt))
    if (range.reverse === true) keys.reverse()
    if (range.limit !== undefined) keys = keys.slice(0, Math.max(0, range.limit))
    return keys.map((k) => [k, hex(this.map.get(k)!)])
  }
}

/** The log the partition would keep: replayed above durableLsn after a crash. */
export class TestLog {
  records: { lsn: number; ops: StateOp[] }[] = []
  lsn = 0

  append(ops: StateOp[]): number {
    this.lsn += 1 + (this.lsn % 7 === 3 ? 1 : 0) // sometimes skip an LSN, as records without state ops do
    this.records.push({ lsn: this.lsn, ops })
    return this.lsn
  }

  replay(tree: LsmTree): void {
    for (const r of this.records) if (r.lsn > tree.appliedLsn) tree.apply(r.lsn, r.ops)
  }

  /** The model as of `lsn`. */
  modelAt(lsn: number): Model {
    const m = new Model()
    for (const r of this.records) if (r.lsn <= lsn) m.apply(r.ops)
    return m
  }
}

export async function collect(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<[string, string][]> {
  const out: [string, string][] = []
  for await (const [k, v] of it) out.push([hex(k), hex(v)])
  return out
}

export async function assertSameState(tree: LsmTree | ReadSnapshot, model: Model, message = ''): Promise<void> {
  assert.deepEqual(await collect(tree.scan()), model.entries(), `full scan differs ${message}`)
}
