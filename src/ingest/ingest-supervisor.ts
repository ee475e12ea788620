/**
 * `superviseIngest`: runs a `PostgresIngester` and starts it again after a transient failure (the
 * connection to Postgres dropped, Postgres restarting or not up yet), with exponential backoff and
 * jitter. Restarting is safe because the ingester resumes from what is durable (the progress in
 * the log payloads and the catalog meta; Postgres resends from the slot's confirmed position).
 *
 * Invariants:
 * - at most one ingester runs at a time: the next one starts only after the last one ended (a
 *   failed ingester has shut itself down, so the supervisor never stops it a second time);
 * - a permanent error (anything but `isTransientIngestError`) ends the supervisor at once, with
 *   that error, and nothing restarts after it;
 * - after `stop()` nothing starts: a wait for a restart ends at once, a start in flight is
 *   stopped as soon as it returns.
 */
import { CairnError } from '../io/errors.js'
import type { IngestStatus } from './postgres/ingest-status.js'
import { defaultSourceName, type PostgresIngestOptions, PostgresIngester } from './postgres/postgres-ingester.js'

/** The first restart waits about this long; each failure in a row doubles it. */
export const restartDelayMsMin = 250
/** The wait between restarts never exceeds this. */
export const restartDelayMsMax = 30_000
/** A run that lasted at least this long was healthy: the next failure waits `restartDelayMsMin` again. */
export const restartResetMsMin = 60_000

/** What the supervisor needs of an ingester (a `PostgresIngester`; tests pass fakes). */
export interface SupervisedIngester {
  readonly done: Promise<void>
  status(): IngestStatus
  stop(): Promise<void>
}

/** Time, for tests: `sleep` resolves early (without error) when `signal` aborts. */
export interface SupervisorClock {
  now(): number
  sleep(ms: number, signal: AbortSignal): Promise<void>
}

export interface SuperviseIngestOptions extends PostgresIngestOptions {
  /**
   * Failed attempts in a row (a start that failed, or a run shorter than `restartResetMsMin`
   * that ended transiently) after which the supervisor gives up with the last error. Default:
   * unbounded, it tries until `stop()` (a server should outlive a Postgres outage).
   */
  attemptsMax?: number
  /**
   * Attempts of the first start (before any ingester ran) after which the supervisor gives up.
   * Default: `attemptsMax`. The CLI bounds it (`startAttemptsMaxCli`) so that a wrong URL is
   * reported within seconds while a Postgres that is still starting up is waited for.
   */
  startAttemptsMax?: number
  /** Called when a restart is scheduled (after the failed ingester shut down). */
  onRestart?: (info: { error: CairnError; delayMs: number; restarts: number }) => void
  /** Tests: the clock, the jitter source (0 ≤ x < 1) and the ingester factory. */
  clock?: SupervisorClock
  random?: () => number
  startIngester?: (options: PostgresIngestOptions) => Promise<SupervisedIngester>
}

/** What `cairn ingest postgres` and `cairn serve --ingest-postgres` allow the first start (about 2 to 4 s of retries). */
export const startAttemptsMaxCli = 5

/** SQLSTATEs and socket errors that mean "the connection or the server went away, try again". */
const transientCodes = new Set(['57P01', '57P02', '57P03', '53300', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/**
 * True for failures a restart can cure: `SOURCE_UNAVAILABLE` (how the ingester reports a lost or
 * refused connection, an active slot still held by a dead session, a slot creation that timed
 * out), and raw connection errors (SQLSTATE class 08, admin/crash shutdown, cannot connect now,
 * too many connections, socket resets). Everything else is permanent: a misconfigured source, a
 * lost slot, an unsupported table, any store error (`LOG_FAILED`, `IO_ERROR`, `CLOSED`, ...).
 */
export function isTransientIngestError(e: unknown): boolean {
  if (e instanceof CairnError) return e.code === 'SOURCE_UNAVAILABLE'
  const code = (e as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && (code.startsWith('08') || transientCodes.has(code))) return true
  const message = (e as Error | undefined)?.message ?? ''
  return /Connection terminated|connection timeout/i.test(message)
}

/**
 * The wait before the restart after `failures` failures in a row (1 for the first): doubling from
 * `restartDelayMsMin`, capped at `restartDelayMsMax`, with "equal jitter" (half fixed, half
 * random) so that many ingesters do not reconnect in lockstep and the wait still grows.
 */
export function restartDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(restartDelayMsMax, restartDelayMsMin * 2 ** Math.min(30, Math.max(0, failures - 1)))
  return Math.round(base / 2 + (base / 2) * random())
}

const realClock: SupervisorClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done)
    }),
}

/**
 * Supervises an ingester: same surface as `PostgresIngester` (`status()`, `stop()`, `done`).
 *
 * @example
 * const ingest = superviseIngest({ url: 'postgres://localhost/app', store, tables: ['orders'] })
 * console.log(ingest.status().phase, ingest.status().restarts)
 * await ingest.stop()
 */
export function superviseIngest(options: SuperviseIngestOptions): IngestSupervisor {
  return new IngestSupervisor(options)
}

export class IngestSupervisor implements SupervisedIngester {
  readonly #o: SuperviseIngestOptions
  readonly #clock: SupervisorClock
  readonly #abort = new AbortController()
  #current: SupervisedIngester | undefined
  #last: IngestStatus
  #restarts = 0
  #running: Promise<void>
  /** Settles when supervision ends: resolves after `stop`, rejects with the permanent error (or the last one when `attemptsMax` ran out). */
  readonly done: Promise<void>
  /** Resolves once the first ingester has started; rejects like `done` when supervision ends before (a first start that kept failing). */
  readonly started: Promise<void>
  #resolveStarted!: () => void

  constructor(options: SuperviseIngestOptions) {
    this.#o = options
    this.#clock = options.clock ?? realClock
    const partition = options.partition ?? 'pg'
    this.#last = {
      partition,
      slot: options.slotName ?? defaultSourceName(partition),
      publication: options.publicationName ?? defaultSourceName(partition),
      phase: 'starting',
      tables: [],
    }
    this.started = new Promise<void>((resolve) => {
      this.#resolveStarted = resolve
    })
    this.#running = this.#run()
    this.done = this.#running
    this.done.catch(() => undefined)
    this.started = Promise.race([this.started, this.#running])
    this.started.catch(() => undefined)
  }

  /** How many times the ingester was started again. */
  get restarts(): number {
    return this.#restarts
  }

  /** The running ingester's status, or the supervisor's own while it waits (phase `restarting`). */
  status(): IngestStatus {
    const s = this.#current?.status() ?? this.#last
    return { ...s, restarts: this.#restarts }
  }

  /** Stops the running ingester (cleanly), or ends the wait for a restart; resolves once nothing runs. */
  async stop(): Promise<void> {
    this.#abort.abort()
    await this.#current?.stop()
    await this.#running.catch(() => undefined)
  }

  async #run(): Promise<void> {
    const start = this.#o.startIngester ?? ((o: PostgresIngestOptions) => PostgresIngester.start(o))
    const { attemptsMax, startAttemptsMax, onRestart, clock: _c, random: _r, startIngester: _s, ...ingestOptions } = this.#o
    const attempts = attemptsMax ?? Number.POSITIVE_INFINITY
    const startAttempts = startAttemptsMax ?? attempts
    let started = false
    const progress = this.#o.onProgress
    let failures = 0
    for (;;) {
      if (this.#abort.signal.aborted) break
      const startedAtMs = this.#clock.now()
      let error: unknown
      try {
        const ingester = await start({ ...ingestOptions, onProgress: (s) => progress?.({ ...s, restarts: this.#restarts }) })
        this.#current = ingester
        started = true
        this.#resolveStarted()
        // A stop that came while starting: the stop() call awaits #running, which ends here.
        if (this.#abort.signal.aborted) await ingester.stop()
        await ingester.done
        this.#last = ingester.status()
        this.#current = undefined
        break
      } catch (e) {
        error = e
        if (this.#current !== undefined) this.#last = this.#current.status()
        this.#current = undefined
      }
      const cause = error instanceof CairnError ? error : new CairnError('SOURCE_UNAVAILABLE', `Postgres is unavailable: ${(error as Error)?.message ?? String(error)}`, { cause: error })
      const transient = isTransientIngestError(error)
      if (this.#clock.now() - startedAtMs >= restartResetMsMin) failures = 0
      failures++
      if (!transient || failures >= (started ? attempts : startAttempts) || this.#abort.signal.aborted) {
        if (this.#abort.signal.aborted && transient) break
        this.#last = { ...this.#last, phase: 'failed', error: { code: cause.code, message: cause.message } }
        delete this.#last.nextAttemptAtMs
        throw transient ? cause : error
      }
      const delayMs = restartDelayMs(failures, this.#o.random)
      this.#last = { ...this.#last, phase: 'restarting', error: { code: cause.code, message: cause.message }, nextAttemptAtMs: this.#clock.now() + delayMs }
      onRestart?.({ error: cause, delayMs, restarts: this.#restarts + 1 })
      progress?.(this.status())
      await this.#clock.sleep(delayMs, this.#abort.signal)
      if (this.#abort.signal.aborted) break
      this.#restarts++
    }
    this.#last = { ...this.#last, phase: 'stopped' }
    delete this.#last.nextAttemptAtMs
  }
}
