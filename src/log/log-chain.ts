/**
 * A partition's history as a chain of logs: older sealed logs and one active log, each starting
 * where the one before ends, read as one log. A new log starts at any LSN L + 1: after a
 * bootstrap (a restore from a snapshot) or a rollover (the active log sealed, a new one opened).
 *
 * Invariants:
 * - the chain is contiguous: each log's first LSN is the previous log's last LSN + 1 (checked
 *   at open, CORRUPT_LOG otherwise), so LSNs stay dense and unique across the chain;
 * - only the active log takes appends; a sealed log's end is final and durable (a roll seals
 *   and closes it before its successor is recorded);
 * - sealed logs hold no descriptor while unused: they are opened (read-only) for a read and
 *   closed after it, so a long chain costs nothing when idle;
 * - `trim` drops whole sealed logs, oldest first, through the owner (`dropSealed`: the record
 *   of the chain first, then the files), and trims inside the active log only once no sealed
 *   log is left before it;
 * - during a roll appends wait, in order, with their LSNs assigned at the call as always.
 */
import { assert } from '../io/assert.js'
import { CairnError } from '../io/errors.js'
import { checkLogChain, type SealedLog } from './check-log-chain.js'
import type { LogEntry, LogRecord } from './frame.js'
import type { AppendOptions, Durability, Log, LogCut } from './log.js'
import { type LogChainTailSource, tailLogChain } from './tail-log-chain.js'
import { lsnMismatch, lsnTrimmed } from './log-errors.js'

/** One log of a chain, as its owner records it. */
export interface LogChainLink {
  logId: string
  /** The LSN the log started at. */
  firstLsn: number
}

export interface LogChainOptions {
  /** The chain, oldest first; the last is the active log. */
  links: readonly LogChainLink[]
  /** The active log, opened by the owner; the chain owns it from here (closes it). */
  active: Log
  /** Opens a sealed log for reading; the chain closes it after the read. */
  openSealed: (link: LogChainLink) => Promise<Log>
  /**
   * Drops whole sealed logs (the oldest ones): the owner records the shorter chain durably
   * first, then removes their files. Without it, `trim` keeps every sealed log.
   */
  dropSealed?: (links: readonly LogChainLink[]) => Promise<void>
  /** Names the chain in error messages (e.g. `partition orders`). */
  name?: string
}

export interface LogChainRollOptions {
  /** Creates the next log, empty, starting at `firstLsn` (its directory durable). */
  open: (firstLsn: number) => Promise<Log>
  /** Records the new chain durably (the new log now active); the switch happens only after. */
  commit: (link: LogChainLink) => Promise<void>
}

/**
 * @example
 * const chain = await LogChain.open({ links, active, openSealed: (link) => openReadOnly(link) })
 * for await (const entry of chain.read(1)) console.log(entry.lsn) // across every log
 * await chain.close()
 */
export class LogChain implements Log {
  readonly name: string
  readonly #openSealed: (link: LogChainLink) => Promise<Log>
  readonly #dropSealed: ((links: readonly LogChainLink[]) => Promise<void>) | undefined
  #sealedLogs: SealedLog[]
  #active: Log
  #activeLink: LogChainLink
  /** Appends waiting for a roll, and the turn they take after it (in call order). */
  #queuedRecords = 0
  #gate: Promise<void> = Promise.resolve()
  #rolling: Promise<void> | undefined
  /** Rolls and trims, one at a time. */
  #maintenance: Promise<unknown> = Promise.resolve()
  #closed = false
  /** The chain as its tails see it (made once: a tail's per-entry path reads none of it). */
  readonly #tailSource: LogChainTailSource

  private constructor(options: LogChainOptions, sealed: SealedLog[]) {
    this.name = options.name ?? 'log chain'
    this.#openSealed = options.openSealed
    this.#dropSealed = options.dropSealed
    this.#sealedLogs = sealed
    this.#active = options.active
    this.#activeLink = options.links[options.links.length - 1]!
    const chain = this
    this.#tailSource = {
      get closed() {
        return chain.#closed
      },
      get rolling() {
        return chain.#rolling
      },
      get active() {
        return chain.#active
      },
      get activeFirstLsn() {
        return chain.#activeLink.firstLsn
      },
      readBatches: (fromLsn, toLsn) => this.readBatches(fromLsn, toLsn),
    }
  }

  /**
   * Checks the chain is contiguous (opening each sealed log briefly) and returns it. Closes
   * `options.active` when it throws.
   */
  static async open(options: LogChainOptions): Promise<LogChain> {
    try {
      return new LogChain(options, await checkLogChain(options, options.name ?? 'log chain'))
    } catch (e) {
      await options.active.close().catch(() => undefined)
      throw e
    }
  }

  get logId(): string {
    return this.#active.logId
  }
  get durability(): Durability {
    return this.#active.durability
  }
  get recordBytesMax(): number {
    return this.#active.recordBytesMax
  }
  get batchBytesMax(): number {
    return this.#active.batchBytesMax
  }
  get firstLsn(): number {
    return this.#sealedLogs[0]?.firstLsn ?? this.#active.firstLsn
  }
  get lastLsn(): number {
    return this.#active.lastLsn
  }
  get nextLsn(): number {
    return this.#active.nextLsn + this.#queuedRecords
  }
  get syncedLsn(): number {
    return this.#active.syncedLsn
  }
  get bytes(): number {
    return this.#sealedLogs.reduce((sum, s) => sum + s.bytes, this.#active.bytes)
  }
  get segmentCount(): number {
    return this.#sealedLogs.reduce((sum, s) => sum + s.segmentCount, this.#active.segmentCount)
  }
  get sealed(): boolean {
    return this.#rolling === undefined && this.#active.sealed
  }
  /** The chain as it stands, oldest first (the last is the active log). */
  get links(): LogChainLink[] {
    return [...this.#sealedLogs.map((s) => ({ ...s.link })), { ...this.#activeLink }]
  }

  append(records: readonly LogRecord[], options: AppendOptions = {}): Promise<number> {
    if (this.#rolling === undefined && this.#queuedRecords === 0) return this.#active.append(records, options)
    if (this.#closed) throw new CairnError('CLOSED', `${this.name} is closed: open the store again`)
    // A roll is under way: the records wait their turn, with the LSNs they would get now.
    const expectedLsn = this.nextLsn
    if (options.expectedLsn !== undefined && options.expectedLsn !== expectedLsn) {
      throw lsnMismatch(this.name, options.expectedLsn, expectedLsn)
    }
    const count = records.length
    this.#queuedRecords += count
    const turn = this.#gate
    let submitted!: () => void
    this.#gate = new Promise<void>((resolve) => {
      submitted = resolve
    })
    return turn.then(() => {
      this.#queuedRecords -= count
      try {
        return this.#active.append(records, { ...options, expectedLsn })
      } finally {
        submitted()
      }
    })
  }

  room(): Promise<void> {
    // On every write's path: no extra turn unless a roll is under way.
    if (this.#rolling === undefined && this.#queuedRecords === 0) return this.#active.room()
    return this.#gate.then(() => this.#active.room())
  }

  async sync(): Promise<void> {
    await this.#gate
    if (this.#active.sealed) return
    await this.#active.sync()
  }

  async *readBatches(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry[]> {
    if (!Number.isSafeInteger(fromLsn) || fromLsn < 1) {
      throw new CairnError('INVALID_ARGUMENT', `fromLsn must be a positive integer (got ${fromLsn})`)
    }
    const last = Math.min(toLsn ?? this.lastLsn, this.lastLsn)
    let next = fromLsn
    while (next <= last) {
      if (next < this.firstLsn) throw this.#trimmed(next)
      const before = next
      if (next >= this.#activeLink.firstLsn) {
        // The active log; if a roll makes it sealed meanwhile, it still holds these LSNs.
        for await (const batch of this.#active.readBatches(next, last)) {
          yield batch
          next = batch[batch.length - 1]!.lsn + 1
        }
        return
      }
      const sealed = this.#sealedLogs.find((s) => s.lastLsn >= next)
      assert(sealed !== undefined && sealed.firstLsn <= next, 'an LSN below the active log is in a sealed log')
      const log = await this.#openSealedFor(sealed, next)
      try {
        for await (const batch of log.readBatches(next, Math.min(last, sealed.lastLsn))) {
          yield batch
          next = batch[batch.length - 1]!.lsn + 1
        }
      } finally {
        await log.close().catch(() => undefined)
      }
      assert(next > before, 'a read pass over a sealed log makes progress')
    }
  }

  async *read(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry> {
    for await (const batch of this.readBatches(fromLsn, toLsn)) yield* batch
  }

  /** Reads from `fromLsn` across the sealed logs, then follows the active one (tail-log-chain.ts). */
  tail(fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
    return tailLogChain(this.#tailSource, fromLsn, options)
  }

  async trim(belowLsn: number): Promise<number> {
    assert(Number.isSafeInteger(belowLsn), 'belowLsn is an integer')
    const run = this.#maintenance.then(async () => {
      this.#checkOpen()
      const drop = this.#dropSealed === undefined ? [] : this.#sealedLogs.filter((s) => s.lastLsn < belowLsn)
      if (drop.length > 0) {
        await this.#dropSealed!(drop.map((s) => ({ ...s.link })))
        this.#sealedLogs = this.#sealedLogs.slice(drop.length)
      }
      if (this.#sealedLogs.length === 0 && belowLsn > this.#active.firstLsn) await this.#active.trim(belowLsn)
      return this.firstLsn
    })
    this.#maintenance = run.catch(() => undefined)
    return await run
  }

  /**
   * Seals the active log and makes a new one, starting at its last LSN + 1, the active one:
   * appends meanwhile wait and then go to the new log. The owner creates the new log and
   * records the new chain (`commit`): a failure before the commit leaves the old chain (with
   * its active log sealed: reopen the partition), one after it the new. A log that holds no
   * record since its start is not rolled (its successor would start at the same LSN).
   */
  roll(options: LogChainRollOptions): Promise<LogChainLink> {
    const run = this.#maintenance.then(async () => {
      this.#checkOpen()
      const old = this.#active
      if (old.lastLsn < this.#activeLink.firstLsn) return { ...this.#activeLink }
      let done!: () => void
      this.#rolling = new Promise<void>((resolve) => {
        done = resolve
      })
      const turn = this.#gate
      this.#gate = this.#rolling
      try {
        await turn
        await old.seal()
        // Closed before the chain records a successor: a sealed log on disk is always whole and
        // says so (its last frame carries its last LSN as durable), so a read-only open sees all.
        await old.close()
        const firstLsn = old.lastLsn + 1
        const fresh = await options.open(firstLsn)
        const link = { logId: fresh.logId, firstLsn }
        try {
          assert(fresh.firstLsn === firstLsn && fresh.lastLsn === firstLsn - 1, 'a new log of the chain is empty and starts at the next LSN')
          await options.commit(link)
        } catch (e) {
          await fresh.close().catch(() => undefined)
          throw e
        }
        const oldLink = this.#activeLink
        this.#sealedLogs.push({
          logId: old.logId,
          firstLsn: old.firstLsn,
          lastLsn: old.lastLsn,
          link: oldLink,
          cut: old.cut(),
          bytes: old.bytes,
          segmentCount: old.segmentCount,
        })
        this.#active = fresh
        this.#activeLink = link
        return { ...link }
      } finally {
        this.#rolling = undefined
        done()
      }
    })
    this.#maintenance = run.catch(() => undefined)
    return run
  }

  seal(): Promise<void> {
    // Sealed from the call on, like every log, unless appends wait for a roll: they land first.
    if (this.#rolling === undefined && this.#queuedRecords === 0) return this.#active.seal()
    return this.#gate.then(() => this.#active.seal())
  }

  cut(): LogCut {
    const active = this.#active.cut()
    return { firstLsn: this.firstLsn, lastLsn: active.lastLsn, files: [...this.#sealedLogs.flatMap((s) => s.cut.files), ...active.files] }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#maintenance
    await this.#gate
    await this.#active.close()
  }

  async #openSealedFor(sealed: SealedLog, lsn: number): Promise<Log> {
    try {
      return await this.#openSealed(sealed.link)
    } catch (e) {
      // Trimmed away meanwhile: the reader learns it the way a trimmed segment says it.
      if (!this.#sealedLogs.includes(sealed)) throw this.#trimmed(lsn)
      throw e
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `${this.name} is closed: open the store again`)
  }

  #trimmed(lsn: number): CairnError {
    return lsnTrimmed(this.name, lsn, this.firstLsn)
  }
}
