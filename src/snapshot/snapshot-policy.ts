/**
 * The snapshot policy: automatic snapshots of a store's partitions when the records or log bytes
 * since the last one pass thresholds (or, optionally, when the last one is older than an
 * interval and there is something new), then trimming of their logs to what the repository
 * archived (trim-to-archived.ts), after an optional delay (trim-delay.ts).
 *
 * Invariants:
 * - one check at a time; a check starts at most one snapshot per partition and none for a
 *   partition with one in flight; the manager bounds how many run in the store at once;
 * - the timer is unref'd (it never keeps the process alive) and `stop()` clears it and waits for
 *   the check running; nothing is started after `stop()`;
 * - a failure is recorded in the manager's status and told to `onEvent`, never thrown out of the
 *   timer (a repository outage must not take the process down), and retried at the next check,
 *   except REPOSITORY_FENCED: that partition waits for a take-over; a closed store stops the policy;
 * - only partitions with figures are looked at (open, or closed since the store opened): a
 *   partition that was never opened has not changed since the store opened.
 */
import { isCairnError } from '../io/errors.js'
import { hasPartitionFigures, type LogCut, type Partition, type StorePartitionInfo } from '../partition/index.js'
import type { SnapshotManager } from './snapshot-manager.js'
import { TrimDelay } from './trim-delay.js'

/** Records since the last snapshot that make the next one due, unless told otherwise. */
export const policyRecordsMinDefault = 100_000
/** Log bytes since the last snapshot that make the next one due, unless told otherwise. */
export const policyBytesMinDefault = 64 * 1024 * 1024
/** How often the policy looks at the store, unless told otherwise. */
export const policyCheckMsDefault = 10_000

export interface SnapshotPolicyOptions {
  /** A snapshot is due once this many records were appended since the last (default 100,000). */
  recordsMin?: number
  /** ... or once this many log bytes were (default 64 MiB). */
  bytesMin?: number
  /** ... or once the last is this old and something was appended since (default: no such bound). */
  intervalMsMax?: number
  /** How often to look (default 10 s). */
  checkMs?: number
  /** Trim logs to what the repository archived (default true). */
  trim?: boolean
  /** Trim to an archived LSN only once it has been archived this long (default 0). */
  trimDelayMs?: number
  /** The clock (tests; default the manager's: the one its records are stamped with). */
  now?: () => number
}

/**
 * @example
 * const policy = new SnapshotPolicy(manager, { recordsMin: 50_000, intervalMsMax: 3_600_000 })
 * policy.start()
 * ...
 * await policy.stop()
 */
export class SnapshotPolicy {
  readonly #manager: SnapshotManager
  readonly #recordsMin: number
  readonly #bytesMin: number
  readonly #intervalMsMax: number | undefined
  readonly #checkMs: number
  readonly #trim: boolean
  readonly #delay: TrimDelay
  readonly #now: () => number
  readonly #startedMs: number
  /** The archived LSN each partition was last trimmed to (see #trimPartition). */
  readonly #trimTried = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined
  #checking: Promise<void> | undefined
  #stopped = false

  constructor(manager: SnapshotManager, options: SnapshotPolicyOptions = {}) {
    this.#manager = manager
    this.#recordsMin = options.recordsMin ?? policyRecordsMinDefault
    this.#bytesMin = options.bytesMin ?? policyBytesMinDefault
    this.#intervalMsMax = options.intervalMsMax
    this.#checkMs = options.checkMs ?? policyCheckMsDefault
    this.#trim = options.trim !== false
    this.#delay = new TrimDelay(options.trimDelayMs ?? 0)
    this.#now = options.now ?? (() => manager.now())
    this.#startedMs = this.#now()
  }

  /** Starts looking every `checkMs` (unref'd timer). */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return
    this.#timer = setInterval(() => {
      if (this.#checking === undefined) void this.check()
    }, this.#checkMs)
    this.#timer.unref()
  }

  /** Stops the timer and waits for the check running, if any. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#checking
  }

  /**
   * One look at the store: the snapshots due, then the trims; resolves when what it started is
   * done (never rejects). One at a time: a call while one runs shares it.
   */
  check(): Promise<void> {
    if (this.#checking !== undefined) return this.#checking
    const run = this.#checkOnce().finally(() => {
      this.#checking = undefined
    })
    this.#checking = run
    return run
  }

  async #checkOnce(): Promise<void> {
    const manager = this.#manager
    if (this.#stopped || manager.closed) return
    let partitions: StorePartitionInfo[]
    try {
      partitions = (await manager.store.info()).partitions
    } catch (e) {
      if (isCairnError(e, 'CLOSED')) this.#stopped = true
      return
    }
    const work: Promise<void>[] = []
    for (const info of partitions) {
      if (this.#stopped || manager.closed) break
      if (!hasPartitionFigures(info) || manager.inFlight(info.id)) continue
      work.push(this.#snapshotIfDue(info.id, info))
    }
    await Promise.all(work)
  }

  async #snapshotIfDue(id: string, info: StorePartitionInfo & { lastLsn: number; firstLsn: number; logBytes: number; open: boolean }): Promise<void> {
    const manager = this.#manager
    const last = manager.lastSnapshot(id)
    const sinceLsn = last?.lsn ?? 0
    const records = info.lastLsn - sinceLsn
    let due = false
    if (records > 0) {
      const bytes = info.open ? await this.#bytesSince(id, sinceLsn, info) : estimateBytesSince(info, sinceLsn)
      const lastMs = last?.recordedAtMs ?? this.#startedMs
      due = records >= this.#recordsMin || bytes >= this.#bytesMin || (this.#intervalMsMax !== undefined && this.#now() - lastMs >= this.#intervalMsMax)
    }
    // Fenced: another store owns the partition in the repository; retrying every check would only
    // repeat the error (and a GET). It resumes once a take-over (or any create) succeeds.
    if (manager.lastError(id)?.code === 'REPOSITORY_FENCED') due = false
    if (due && !this.#stopped && !manager.closed) {
      try {
        const result = await manager.createSnapshot(id)
        manager.report({ kind: 'snapshot', partition: id, result })
      } catch (e) {
        if (this.#closing(e)) return
        manager.reportError(id, 'snapshot', e)
        return
      }
    }
    if (this.#trim) await this.#trimPartition(id, info.firstLsn, info.open)
  }

  async #trimPartition(id: string, firstLsn: number, open: boolean): Promise<void> {
    const manager = this.#manager
    const archived = manager.lastSnapshot(id)?.archivedLsn
    if (archived === undefined || this.#stopped || manager.closed) return
    const ready = this.#delay.observe(id, archived, this.#now())
    // Nothing below the ready archived LSN is left (and opening a closed partition would be for nothing).
    if (ready < firstLsn) return
    // A closed partition does not change: reopening it to try the same trim again would only churn the pool.
    if (!open && this.#trimTried.get(id) === ready) return
    this.#trimTried.set(id, ready)
    try {
      const result = await manager.trim(id, ready)
      if (result !== undefined && result.firstLsn > result.firstLsnBefore) manager.report({ kind: 'trim', partition: id, result })
    } catch (e) {
      if (!this.#closing(e)) manager.reportError(id, 'trim', e)
    }
  }

  /** Log bytes after `sinceLsn`, from the open partition's cut (its segments' sizes). */
  async #bytesSince(id: string, sinceLsn: number, info: { lastLsn: number; firstLsn: number; logBytes: number }): Promise<number> {
    let partition: Partition
    try {
      partition = await this.#manager.store.partition(id)
    } catch {
      return estimateBytesSince(info, sinceLsn)
    }
    return logBytesSince(partition.cut(), sinceLsn)
  }

  /** A failure that means the store or manager is closing: stop quietly. */
  #closing(e: unknown): boolean {
    if (!isCairnError(e, 'CLOSED') || !(this.#manager.closed || this.#stopped)) return false
    this.#stopped = true
    return true
  }
}

/**
 * Bytes of the log after `sinceLsn`: whole files that start after it, plus the share of the file
 * that holds it (records assumed of even size within a file).
 */
export function logBytesSince(cut: LogCut, sinceLsn: number): number {
  let bytes = 0
  const { files } = cut
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!
    const end = i + 1 < files.length ? files[i + 1]!.firstLsn - 1 : cut.lastLsn
    if (file.firstLsn > sinceLsn) bytes += file.bytes
    else if (end > sinceLsn) bytes += Math.round((file.bytes * (end - sinceLsn)) / (end - file.firstLsn + 1))
  }
  return bytes
}

function estimateBytesSince(info: { lastLsn: number; firstLsn: number; logBytes: number }, sinceLsn: number): number {
  const held = info.lastLsn - info.firstLsn + 1
  if (held <= 0) return 0
  return Math.round((info.logBytes * Math.min(held, info.lastLsn - sinceLsn)) / held)
}
