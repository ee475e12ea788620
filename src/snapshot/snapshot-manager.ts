/**
 * A snapshot repository attached to an open store: making snapshots of its partitions (on
 * demand, or by the policy: snapshot-policy.ts), trimming their logs down to what the repository
 * archived (trim-to-archived.ts), bootstrapping partitions the store lacks and repairing trim
 * gaps (bootstrap.ts, through `Store.attachRecovery`).
 *
 * Invariants:
 * - one snapshot in flight per partition (a second request waits for it, then reuses it when it
 *   is recent enough) and at most `snapshotsInFlightMax` per store;
 * - `minLsn`: a partition whose applied LSN is below it declines (STALE_PARTITION); a snapshot at
 *   or above it that the repository already has (its newest, from latest.json) is returned
 *   instead of a new one;
 * - every publish and restore is recorded in the catalog (`meta.snapshot`, with the writer epoch
 *   taken), so the next create presents that epoch and the policy and trimming need no
 *   object-store call; REPOSITORY_FENCED propagates as it is, with its message;
 * - a snapshot reads a pinned read snapshot of the partition (it does not stop writes) and closes
 *   it in `finally`; the partition stays open meanwhile;
 * - attaching makes no object-store call.
 */
import { assert } from '../io/assert.js'
import { CairnError, isCairnError } from '../io/errors.js'
import type { Partition, Store } from '../partition/index.js'
import { bootstrapPartition, type RestoreFromRepositoryOptions, type RestoreFromRepositoryResult, repairTrimGap, restoreFromRepository } from './bootstrap.js'
import type { SnapshotRepository } from './repository.js'
import { readSnapshotMeta, type SnapshotMeta, writeSnapshotMeta } from './snapshot-manager-meta.js'
import type { CreateProgress, CreateResult } from './snapshot-types.js'
import { type TrimResult, trimToArchived } from './trim-to-archived.js'

/** Snapshots a store makes at once (each reads its partition's state and uploads in parallel). */
export const snapshotsInFlightMax = 2

export interface CreateSnapshotOptions {
  /** Decline (STALE_PARTITION) below it; return an existing snapshot at or above it. */
  minLsn?: number
  /** Publish even if another store owns the partition in the repository (fences it). */
  takeOver?: boolean
  onProgress?: (progress: CreateProgress) => void
}

/**
 * What `createSnapshot` answers: the repository's result, and the archived LSN after it. `epoch`
 * is the writer epoch this store holds in the repository after the call (0: none, e.g. a
 * take-over whose snapshot was not newer than the latest published nothing and took nothing).
 */
export interface SnapshotCreated extends CreateResult {
  /** True when an existing snapshot at or above `minLsn` was returned instead of a new one. */
  reused: boolean
  archivedLsn?: number
}

/** Something the manager did or failed to do in the background (for logs and status). */
export type SnapshotEvent =
  | { kind: 'snapshot'; partition: string; result: SnapshotCreated }
  | { kind: 'trim'; partition: string; result: TrimResult }
  | { kind: 'restore'; partition: string; result: RestoreFromRepositoryResult; why: 'bootstrap' | 'trim-gap' }
  | { kind: 'error'; partition: string; what: 'snapshot' | 'trim'; error: CairnError | Error }

export interface SnapshotManagerOptions {
  /** Told of every background snapshot, trim, restore and failure (default: nothing). */
  onEvent?: (event: SnapshotEvent) => void
  /** Restore partitions the store lacks, and repair trim gaps, from the repository (default true). */
  recover?: boolean
  /** The clock of the records' `recordedAtMs` (tests; default `Date.now`). */
  now?: () => number
  /** `close()` closes the repository's object store too (default false: the caller owns it). */
  closeObjectStore?: boolean
}

/** The manager's view of one partition, for status. */
export interface PartitionSnapshotStatus {
  partition: string
  last?: SnapshotMeta
  inFlight: boolean
  lastError?: { code: string; message: string; atMs: number; what: 'snapshot' | 'trim' }
}

/**
 * @example
 * const repo = await SnapshotRepository.open(await openObjectStore('file:///backups/cairn'))
 * const manager = SnapshotManager.attach(store, repo)
 * const r = await manager.createSnapshot('orders', { minLsn: 1200 })
 * await manager.trim('orders')
 * await manager.close()
 */
export class SnapshotManager {
  readonly store: Store
  readonly repo: SnapshotRepository
  readonly #options: SnapshotManagerOptions
  readonly #inFlight = new Map<string, Promise<SnapshotCreated>>()
  readonly #recovering = new Map<string, Promise<boolean>>()
  readonly #errors = new Map<string, NonNullable<PartitionSnapshotStatus['lastError']>>()
  #running = 0
  readonly #waiting: (() => void)[] = []
  #closed = false

  private constructor(store: Store, repo: SnapshotRepository, options: SnapshotManagerOptions) {
    this.store = store
    this.repo = repo
    this.#options = options
  }

  /** Attaches `repo` to `store` (no object-store call). Close the manager before the store. */
  static attach(store: Store, repo: SnapshotRepository, options: SnapshotManagerOptions = {}): SnapshotManager {
    const manager = new SnapshotManager(store, repo, options)
    if (options.recover !== false) {
      store.attachRecovery({
        bootstrap: (id) => manager.#recover(id, () => bootstrapPartition(store, repo, id), 'bootstrap'),
        repairTrimGap: (id, error) => manager.#recover(id, () => repairTrimGap(store, repo, id, error), 'trim-gap'),
      })
    }
    return manager
  }

  /** The partition (bootstrapped or repaired from the repository when needed: see `Store.partition`). */
  partition(id: string): Promise<Partition> {
    return this.store.partition(id)
  }

  /** The partition, bootstrapped from the repository if it has it, else created. */
  ensurePartition(id: string): Promise<Partition> {
    return this.store.ensurePartition(id)
  }

  /** The last snapshot this store knows of partition `id` in this repository (catalog only). */
  lastSnapshot(id: string): SnapshotMeta | undefined {
    return readSnapshotMeta(this.store, id, this.repo.url)
  }

  /** True while a snapshot of `id` is being made. */
  inFlight(id: string): boolean {
    return this.#inFlight.has(id)
  }

  /**
   * Makes and publishes a snapshot of partition `id` at its applied LSN (see the header for
   * `minLsn`, fencing and concurrency).
   */
  async createSnapshot(id: string, options: CreateSnapshotOptions = {}): Promise<SnapshotCreated> {
    this.#checkOpen()
    const { minLsn } = options
    if (minLsn !== undefined && (!Number.isSafeInteger(minLsn) || minLsn < 0)) {
      throw new CairnError('INVALID_ARGUMENT', `minLsn is a whole number (got ${String(minLsn)})`, { context: { partition: id } })
    }
    // One in flight per partition: wait for it, then decide again (it may be recent enough).
    for (let running = this.#inFlight.get(id); running !== undefined; running = this.#inFlight.get(id)) await running.catch(() => undefined)
    const run = this.#create(id, options)
    this.#inFlight.set(id, run)
    try {
      return await run
    } finally {
      if (this.#inFlight.get(id) === run) this.#inFlight.delete(id)
    }
  }

  /**
   * Trims partition `id`'s log below min(durable, archived) + 1 using the catalog's record of the
   * archived LSN (`archivedLsn` overrides it: the trim delay's answer). Undefined when nothing is
   * known archived.
   */
  async trim(id: string, archivedLsn?: number): Promise<TrimResult | undefined> {
    this.#checkOpen()
    const archived = archivedLsn ?? this.lastSnapshot(id)?.archivedLsn
    if (archived === undefined || archived <= 0) return undefined
    return await trimToArchived(await this.store.partition(id), archived)
  }

  /** Restores partition `id` from the repository (bootstrap.ts: a local log that can continue it is kept). */
  async restore(id: string, options: RestoreFromRepositoryOptions = {}): Promise<RestoreFromRepositoryResult> {
    this.#checkOpen()
    return await restoreFromRepository(this.store, this.repo, id, options)
  }

  /** Every partition's last known snapshot, whether one is in flight, and its last background error. */
  status(): PartitionSnapshotStatus[] {
    return this.store.partitions().map((partition) => {
      const last = this.lastSnapshot(partition)
      const lastError = this.#errors.get(partition)
      return { partition, ...(last !== undefined && { last }), inFlight: this.#inFlight.has(partition), ...(lastError !== undefined && { lastError }) }
    })
  }

  /** The last background failure of partition `id` not yet followed by a success, if any. */
  lastError(id: string): PartitionSnapshotStatus['lastError'] | undefined {
    const e = this.#errors.get(id)
    return e === undefined ? undefined : { ...e }
  }

  /** @internal Records a background failure (status) and tells `onEvent`. */
  reportError(partition: string, what: 'snapshot' | 'trim', error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error))
    const code = isCairnError(e) ? e.code : 'ERROR'
    this.#errors.set(partition, { code, message: e.message, atMs: this.now(), what })
    this.#options.onEvent?.({ kind: 'error', partition, what, error: e })
  }

  /** @internal Tells `onEvent` (and clears a recorded error once the same work succeeds). */
  report(event: Exclude<SnapshotEvent, { kind: 'error' }>): void {
    const recorded = this.#errors.get(event.partition)
    if (recorded !== undefined && recorded.what === event.kind) this.#errors.delete(event.partition)
    this.#options.onEvent?.(event)
  }

  /** The manager's clock (what `recordedAtMs` is measured with). */
  now(): number {
    return (this.#options.now ?? Date.now)()
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Waits for the snapshots in flight and detaches from the store (and closes the object store if it owns it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.#inFlight.values(), ...this.#recovering.values()].map((p) => p.catch(() => undefined)))
    this.store.attachRecovery(undefined)
    if (this.#options.closeObjectStore === true) await this.repo.store.close()
  }

  async #create(id: string, options: CreateSnapshotOptions): Promise<SnapshotCreated> {
    const { minLsn } = options
    const partition = await this.store.partition(id)
    if (minLsn !== undefined) {
      if (partition.appliedLsn < minLsn) {
        throw new CairnError(
          'STALE_PARTITION',
          `partition ${id} has applied up to LSN ${partition.appliedLsn}, below the ${minLsn} asked for: make the snapshot where the partition has caught up, or ask for a lower minLsn`,
          { context: { partition: id, appliedLsn: partition.appliedLsn, minLsn } },
        )
      }
      const existing = await this.#existingAtLeast(id, minLsn)
      if (existing !== undefined) return existing
    }
    await this.#slot()
    try {
      const last = this.lastSnapshot(id)
      const release = partition.keepOpen()
      const snap = partition.readSnapshot()
      let result: CreateResult
      try {
        const writer = { storeId: this.store.storeId, ...(last?.epoch !== undefined && { epoch: last.epoch }) }
        result = await this.repo.create(
          id,
          { lsn: snap.lsn, logId: partition.logId, scan: () => snap.scan() },
          { writer, ...(options.takeOver === true && { takeOver: true }), ...(options.onProgress !== undefined && { onProgress: options.onProgress }) },
        )
      } finally {
        await snap.close()
        release()
      }
      // One GET: the archived LSN the publish left (retention may have dropped the oldest), and
      // who owns the partition now. The epoch recorded is the one the pointer gives this store:
      // a take-over that published nothing (its snapshot not newer) took nothing.
      const pointer = await this.repo.latest(id)
      const archivedLsn = pointer?.archivedLsn
      const epoch = pointer?.writer.storeId === this.store.storeId ? pointer.writer.epoch : result.published ? result.epoch : last?.epoch
      await writeSnapshotMeta(this.store, id, {
        repository: this.repo.url,
        snapshotId: result.snapshotId,
        lsn: result.lsn,
        rootHash: result.rootHash,
        ...(archivedLsn !== undefined && { archivedLsn }),
        ...(epoch !== undefined && { epoch }),
        source: result.published ? 'created' : (last?.snapshotId === result.snapshotId ? last.source : 'restored'),
        recordedAtMs: this.now(),
      })
      // A success (a take-over after REPOSITORY_FENCED, say) ends what the status reported.
      if (this.#errors.get(id)?.what === 'snapshot') this.#errors.delete(id)
      return { ...result, epoch: epoch ?? 0, reused: false, ...(archivedLsn !== undefined && { archivedLsn }) }
    } finally {
      this.#release()
    }
  }

  /** A snapshot at or above `minLsn` the store knows of (catalog), else the repository's newest if it is one. */
  async #existingAtLeast(id: string, minLsn: number): Promise<SnapshotCreated | undefined> {
    const pointer = await this.repo.latest(id)
    const newest = pointer?.snapshots[0]
    if (pointer === undefined || newest === undefined || newest.lsn < minLsn) return undefined
    const manifest = await this.repo.manifest(id, newest.snapshotId)
    const last = this.lastSnapshot(id)
    return {
      partition: id,
      lsn: manifest.lsn,
      snapshotId: manifest.snapshotId,
      rootHash: manifest.rootHash,
      bytesUploaded: 0,
      chunksUploaded: 0,
      chunksTotal: manifest.chunks.length,
      entries: manifest.entries,
      bytes: manifest.bytes,
      published: false,
      epoch: pointer.writer.storeId === this.store.storeId ? pointer.writer.epoch : (last?.epoch ?? 0),
      reused: true,
      archivedLsn: pointer.archivedLsn,
    }
  }

  /** One recovery per partition at a time; its result reported. */
  #recover(id: string, run: () => Promise<RestoreFromRepositoryResult | undefined>, why: 'bootstrap' | 'trim-gap'): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false)
    const existing = this.#recovering.get(id)
    if (existing !== undefined) return existing
    const recovery = (async () => {
      const result = await run()
      if (result === undefined) return false
      this.report({ kind: 'restore', partition: id, result, why })
      return true
    })()
    this.#recovering.set(id, recovery)
    const done = () => {
      if (this.#recovering.get(id) === recovery) this.#recovering.delete(id)
    }
    recovery.then(done, done)
    return recovery
  }

  async #slot(): Promise<void> {
    while (this.#running >= snapshotsInFlightMax) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#running++
  }

  #release(): void {
    this.#running--
    assert(this.#running >= 0, 'a slot is released once')
    this.#waiting.shift()?.()
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', 'the snapshot manager is closed: attach a new one')
  }
}
