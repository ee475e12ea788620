/**
 * The apply step: the one way a partition's state changes once it is open. Local writes and
 * replicated records alike reach state only here, from the log's `onDurable`.
 *
 * Invariants:
 * - a record is applied only once the log says it is durable, synchronously, in LSN order, each
 *   applied LSN the previous + 1 (a gap or a repeat is a bug, asserted: state would silently miss
 *   or double a write);
 * - the ops were validated before they were logged and their bytes are the partition's own, so
 *   the tree neither validates nor copies them again.
 */
import { assert } from '../io/assert.js'
import { CairnError } from '../io/errors.js'
import type { LsmTree, StateOp } from '../state/index.js'
import type { PartitionMaintenance } from './partition-maintenance.js'

export class StateApplier {
  readonly #id: string
  readonly #tree: LsmTree
  readonly #maintenance: PartitionMaintenance

  constructor(id: string, tree: LsmTree, maintenance: PartitionMaintenance) {
    this.#id = id
    this.#tree = tree
    this.#maintenance = maintenance
  }

  /** `onDurable` of a one-record write (bound per write: cheaper than a closure). */
  applyOps(ops: StateOp[], lsn: number): void {
    this.apply(lsn, ops)
  }

  /** `onDurable` of a batch of records whose last LSN is `last`, one record's ops per LSN. */
  applyRecords(opsByRecord: StateOp[][], last: number): void {
    const first = last - opsByRecord.length + 1
    for (let i = 0; i < opsByRecord.length; i++) this.apply(first + i, opsByRecord[i]!)
  }

  apply(lsn: number, ops: StateOp[]): void {
    assertNextLsn(this.#id, this.#tree.appliedLsn, lsn)
    this.#tree.apply(lsn, ops, true, true)
    this.#maintenance.afterApply()
  }
}

/** The apply path's order: each applied LSN is the previous + 1. */
export function assertNextLsn(id: string, appliedLsn: number, lsn: number): void {
  // Not `assert(cond, template)`: this runs per write, and the message is built only on failure.
  if (lsn !== appliedLsn + 1) assert(false, `partition ${id}: applying LSN ${lsn} after ${appliedLsn} (each applied LSN is the previous + 1)`)
}

/** The error of a partition whose state did not apply every LSN its log holds (its log failed mid-write). */
export function appliedBehindLog(id: string, lastLsn: number, appliedLsn: number): CairnError {
  return new CairnError('LOG_FAILED', `partition ${id}: the log holds LSNs up to ${lastLsn} but state applied ${appliedLsn}: close and reopen the store`, {
    context: { partition: id, lastLsn, appliedLsn },
  })
}
