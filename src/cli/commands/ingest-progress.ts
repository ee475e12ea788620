/**
 * What `cairn ingest postgres` shows while it runs: on a terminal, one bar per table (rows,
 * bytes, ETA) and a line for the stream (replication lag, WAL the slot retains); otherwise
 * plain lines, at most one batch per interval (a phase change is shown at once), so a log file
 * gets a readable history instead of a redraw per chunk.
 */
import { MultiBar, type SingleBar } from 'cli-progress'
import type { IngestStatus, TableStatus } from '../../ingest/index.js'

/** Plain lines are written at most this often by default. */
export const progressIntervalMsDefault = 5000

export interface ProgressView {
  update(status: IngestStatus): void
  /** Shows the last status and releases the terminal. */
  stop(): void
}

/**
 * Bars when `stream` is a terminal, plain lines otherwise.
 *
 * @example
 * const view = progressView(process.stderr, { intervalMs: 5000 })
 * const ingester = await PostgresIngester.start({ url, store, onProgress: (s) => view.update(s) })
 */
export function progressView(stream: NodeJS.WritableStream & { isTTY?: boolean }, options: { intervalMs: number }): ProgressView {
  return stream.isTTY === true ? new BarsView(stream) : new LinesView(stream, options.intervalMs)
}

/** `12.3 MiB` */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '?'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let x = bytes
  let u = 0
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024
    u++
  }
  return u === 0 ? `${x} B` : `${x.toFixed(1)} ${units[u]}`
}

/** `850 ms`, `12.4 s`, `3 min 20 s`, `2 h 5 min` */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '?'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

const count = (n: number): string => n.toLocaleString('en-US')

/** `ingest pg (slot cairn_pg): copying, 1 of 3 tables done; lag 12.0 KiB, 40 ms; WAL retained 1.1 MiB` */
export function streamLine(s: IngestStatus): string {
  const done = s.tables.filter((t) => t.state === 'done').length
  const parts = [`ingest ${s.partition} (slot ${s.slot}): ${s.phase}, ${done} of ${s.tables.length} table${s.tables.length === 1 ? '' : 's'} copied`]
  if (s.lagBytes !== undefined || s.lagMs !== undefined) parts.push(`lag ${formatBytes(s.lagBytes)}, ${formatMs(s.lagMs)}`)
  if (s.retainedWalBytes !== undefined) parts.push(`WAL retained ${formatBytes(s.retainedWalBytes)}`)
  parts.push(s.consistentLsn === undefined ? 'not consistent yet' : `consistent at LSN ${s.consistentLsn}`)
  if (s.error !== undefined) parts.push(`error ${s.error.code}: ${s.error.message}`)
  return parts.join('; ')
}

/** `orders: copying 12,000 of ~100,000 rows (12%), 1.2 MiB, eta 8.0 s` */
export function tableLine(t: TableStatus): string {
  if (t.state === 'queued') return `${t.name}: queued${t.rowsEstimate === undefined ? '' : ` (~${count(t.rowsEstimate)} rows)`}`
  if (t.state === 'done') return `${t.name}: copied ${count(t.rowsCopied)} rows, ${formatBytes(t.bytesCopied)}`
  const of = t.rowsEstimate === undefined || t.rowsEstimate <= 0 ? '' : ` of ~${count(t.rowsEstimate)} (${Math.min(100, Math.floor((100 * t.rowsCopied) / t.rowsEstimate))}%)`
  return `${t.name}: copying ${count(t.rowsCopied)}${of} rows, ${formatBytes(t.bytesCopied)}, eta ${formatMs(t.etaMs)}`
}

class LinesView implements ProgressView {
  readonly #stream: NodeJS.WritableStream
  readonly #intervalMs: number
  #lastAtMs = Number.NEGATIVE_INFINITY
  #lastPhase: string | undefined
  #pending: IngestStatus | undefined
  /** Tables already shown as done: shown once, not on every line. */
  readonly #shownDone = new Set<string>()
  #timer: NodeJS.Timeout | undefined

  constructor(stream: NodeJS.WritableStream, intervalMs: number) {
    this.#stream = stream
    this.#intervalMs = intervalMs
  }

  update(status: IngestStatus): void {
    this.#pending = status
    const now = Date.now()
    if (status.phase !== this.#lastPhase || now - this.#lastAtMs >= this.#intervalMs) {
      this.#flush()
      return
    }
    // A later update may never come (an idle source): show this one when the interval is up.
    this.#timer ??= setTimeout(() => this.#flush(), this.#intervalMs - (now - this.#lastAtMs))
    this.#timer.unref()
  }

  stop(): void {
    this.#flush()
  }

  #flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const s = this.#pending
    if (s === undefined) return
    this.#pending = undefined
    this.#lastAtMs = Date.now()
    this.#lastPhase = s.phase
    const lines = [streamLine(s)]
    for (const t of s.tables) {
      if (t.state === 'done' && this.#shownDone.has(t.name)) continue
      if (t.state === 'done') this.#shownDone.add(t.name)
      lines.push(`  ${tableLine(t)}`)
    }
    this.#stream.write(`${lines.join('\n')}\n`)
  }
}

class BarsView implements ProgressView {
  readonly #multi: MultiBar
  readonly #stream: SingleBar
  readonly #tables = new Map<string, SingleBar>()

  constructor(stream: NodeJS.WritableStream) {
    this.#multi = new MultiBar({ stream, hideCursor: true, gracefulExit: false, clearOnComplete: false, stopOnComplete: false, fps: 5, autopadding: true })
    this.#stream = this.#multi.create(1, 0, { line: 'starting' }, { format: '{line}' })
  }

  update(status: IngestStatus): void {
    this.#stream.update(0, { line: streamLine(status) })
    for (const t of status.tables) {
      const total = Math.max(t.rowsEstimate ?? 0, t.rowsCopied, 1)
      const payload = { name: t.name, state: t.state, bytes: formatBytes(t.bytesCopied), etaText: t.state === 'copying' ? formatMs(t.etaMs) : '-', rows: count(t.rowsCopied) }
      let bar = this.#tables.get(t.name)
      if (bar === undefined) {
        bar = this.#multi.create(total, t.rowsCopied, payload, { format: '  {name} [{bar}] {percentage}% {rows} rows {bytes} {state} eta {etaText}' })
        this.#tables.set(t.name, bar)
      }
      bar.setTotal(t.state === 'done' ? Math.max(t.rowsCopied, 1) : total)
      bar.update(t.state === 'done' ? Math.max(t.rowsCopied, 1) : t.rowsCopied, payload)
    }
  }

  stop(): void {
    this.#multi.stop()
  }
}
