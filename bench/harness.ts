/**
 * Bench harness: timing loops, latency percentiles (perf_hooks histograms), temp dirs, the
 * results model, and the table / JSON writers.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'

/** Seconds each timed case runs (CAIRN_BENCH_SECONDS, default 3). */
export const benchSeconds = Number(process.env.CAIRN_BENCH_SECONDS ?? 3)
/** Records for the sequential read suites (CAIRN_BENCH_RECORDS, default 2,000,000). */
export const benchRecords = Number(process.env.CAIRN_BENCH_RECORDS ?? 2_000_000)
/** Concurrent writers in the concurrency cases (CAIRN_BENCH_WRITERS, default 64). */
export const benchWriters = Number(process.env.CAIRN_BENCH_WRITERS ?? 64)
/** Rounds of each interleaved case (CAIRN_BENCH_ROUNDS, default 3; fewer than 3 is raised to 3). */
export const benchRounds = Math.max(3, Number(process.env.CAIRN_BENCH_ROUNDS ?? 3))
/** Seconds one system runs in one round of an interleaved case (CAIRN_BENCH_ROUND_SECONDS, default 1.5). */
export const benchRoundSeconds = Number(process.env.CAIRN_BENCH_ROUND_SECONDS ?? 1.5)

export type Kind = 'cairn' | 'peer' | 'limit'

/** One system's figures in a case. */
export interface Row {
  system: string
  kind: Kind
  ops: number
  seconds: number
  /** Operations (appends, puts, reads, fsyncs) per second. */
  opsPerSec: number
  /** Records (entries) per second, when an op carries several. */
  recordsPerSec?: number
  mbPerSec?: number
  p50Us?: number
  p99Us?: number
  /** Extra figures (amplification, bytes, ...). */
  extra?: Record<string, number>
  note?: string
  /** Interleaved cases: the case metric of each round, in round order (the row holds medians). */
  rounds?: number[]
  /** Interleaved cases: the smallest and largest per-round value of the case metric. */
  min?: number
  max?: number
}

export interface Target {
  description: string
  /** Which figure of the rows is compared. */
  metric: 'opsPerSec' | 'recordsPerSec'
  /** cairn >= factor x best peer, or cairn >= absolute. */
  factorOfBestPeer?: number
  /** cairn >= factor x this peer (with `factor`). */
  peer?: string
  /** cairn >= factor x this limit row (by system name, with `factor`). */
  limit?: string
  factor?: number
  absolute?: number
}

export interface TargetResult extends Target {
  cairn: number | undefined
  threshold: number | undefined
  pass: boolean | undefined
}

export interface CaseResult {
  suite: string
  name: string
  params: Record<string, unknown>
  /** The figure ratios are computed on. */
  metric: 'opsPerSec' | 'recordsPerSec'
  rows: Row[]
  /** cairn / each system (by name), and cairn / best peer. */
  ratios: Record<string, number>
  ratioToBestPeer: number | undefined
  bestPeer: string | undefined
  targets: TargetResult[]
  skipped?: string
  notes: string[]
}

export interface SuiteContext {
  /** Figures measured by earlier suites of the run, shared by name (e.g. the fsync limit). */
  shared: Map<string, Row[]>
  log: (line: string) => void
}

export interface Suite {
  id: string
  /** Groups it belongs to, for argv selection (`npm run bench -- log`). */
  groups: string[]
  description: string
  run: (ctx: SuiteContext) => Promise<CaseResult[]>
}

export async function tempDir(label: string): Promise<string> {
  return await mkdtemp(join(os.tmpdir(), `cairn-bench-${label}-`))
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 })
}

/** Runs `body` with a fresh temp dir, removed afterwards. */
export async function withTempDir<T>(label: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await tempDir(label)
  try {
    return await body(dir)
  } finally {
    await removeDir(dir)
  }
}

export function newHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: 120e9, figures: 3 })
}

function nsToUs(ns: number): number {
  return Math.round(ns / 10) / 100
}

export function percentiles(h: RecordableHistogram): { p50Us: number; p99Us: number } {
  return { p50Us: nsToUs(h.percentile(50)), p99Us: nsToUs(h.percentile(99)) }
}

/**
 * `writers` async loops, each awaiting `op(i)` (i: a run-wide op counter) until `seconds` pass.
 * Returns op count, elapsed seconds and per-op latency percentiles.
 */
export async function timedLoop(
  seconds: number,
  writers: number,
  op: (i: number) => Promise<unknown> | unknown,
): Promise<{ ops: number; seconds: number; p50Us: number; p99Us: number }> {
  const h = newHistogram()
  let next = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(Math.round(seconds * 1e9))
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      const i = next++
      const t0 = process.hrtime.bigint()
      await op(i)
      h.record(Math.max(1, Number(process.hrtime.bigint() - t0)))
    }
  }
  await Promise.all(Array.from({ length: writers }, worker))
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9
  return { ops: next, seconds: elapsed, ...percentiles(h) }
}

/** Times one async body; returns seconds. */
export async function timeIt(body: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint()
  await body()
  return Number(process.hrtime.bigint() - t0) / 1e9
}

export function rowFromLoop(
  system: string,
  kind: Kind,
  r: { ops: number; seconds: number; p50Us?: number; p99Us?: number },
  recordsPerOp = 1,
  bytesPerRecord?: number,
): Row {
  const opsPerSec = r.ops / r.seconds
  const row: Row = { system, kind, ops: r.ops, seconds: round(r.seconds, 3), opsPerSec: round(opsPerSec, 1) }
  if (recordsPerOp !== 1) row.recordsPerSec = round(opsPerSec * recordsPerOp, 1)
  if (bytesPerRecord !== undefined) row.mbPerSec = round((opsPerSec * recordsPerOp * bytesPerRecord) / 1e6, 2)
  if (r.p50Us !== undefined) row.p50Us = r.p50Us
  if (r.p99Us !== undefined) row.p99Us = r.p99Us
  return row
}

/**
 * One system of an interleaved case, already open: `round` runs one timed round and returns its
 * figures; `close` releases it (and its temp dir).
 */
export interface BenchSystem {
  name: string
  kind: Kind
  round: (seconds: number, round: number) => Promise<Row>
  close: () => Promise<void>
}

/**
 * The order the systems run in round `r`: forwards in even rounds, backwards in odd ones
 * (cairn, peer, peer, peer, peer, cairn, ...), so no system always runs right after the same
 * neighbour or always first on a machine that is still settling.
 */
export function roundOrder(systems: number, r: number): number[] {
  const order = Array.from({ length: systems }, (_, i) => i)
  return r % 2 === 0 ? order : order.reverse()
}

/**
 * Runs an interleaved case: opens every system (in order), then `rounds` rounds in which each
 * system runs `seconds` in turn (see `roundOrder`), closes them all, and returns one row per
 * system holding the medians over rounds (`medianRow`). On a shared machine the speed swings
 * 2-3x between runs; within one process, round by round, the systems see the same swings, so
 * the medians and their ratios are what to compare, not absolute figures.
 *
 * @example
 * const rows = await interleaved(ctx.log, 'recordsPerSec', [openCairnSystem, ...peerOpeners])
 */
export async function interleaved(
  log: ((line: string) => void) | undefined,
  metric: 'opsPerSec' | 'recordsPerSec',
  openers: ReadonlyArray<() => Promise<BenchSystem>>,
  options: { rounds?: number; seconds?: number } = {},
): Promise<Row[]> {
  const rounds = options.rounds ?? benchRounds
  const seconds = options.seconds ?? benchRoundSeconds
  const systems: BenchSystem[] = []
  try {
    for (const open of openers) systems.push(await open())
    const perSystem: Row[][] = systems.map(() => [])
    for (let r = 0; r < rounds; r++) {
      for (const i of roundOrder(systems.length, r)) {
        maybeGc()
        const row = await systems[i]!.round(seconds, r)
        perSystem[i]!.push(row)
        log?.(`  round ${r + 1}/${rounds} ${systems[i]!.name}: ${fmtNumber(metricOf(row, metric))} ${metric === 'recordsPerSec' ? 'records/s' : 'ops/s'}`)
      }
    }
    return perSystem.map((rows) => medianRow(rows, metric))
  } finally {
    for (const s of systems.reverse()) await s.close()
  }
}

function metricOf(r: Row, metric: 'opsPerSec' | 'recordsPerSec'): number {
  return metric === 'recordsPerSec' ? (r.recordsPerSec ?? r.opsPerSec) : r.opsPerSec
}

function fmtNumber(x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: 0 })
}

/**
 * One row from a system's per-round rows: every figure is the median over rounds (ops and
 * seconds are summed), and `rounds`, `min`, `max` hold the case metric per round.
 */
export function medianRow(rows: readonly Row[], metric: 'opsPerSec' | 'recordsPerSec'): Row {
  const first = rows[0]!
  const med = (pick: (r: Row) => number | undefined): number | undefined => {
    const xs = rows.map(pick).filter((x): x is number => x !== undefined)
    return xs.length === 0 ? undefined : median(xs)
  }
  const values = rows.map((r) => metricOf(r, metric))
  const out: Row = {
    system: first.system,
    kind: first.kind,
    ops: rows.reduce((a, r) => a + r.ops, 0),
    seconds: round(rows.reduce((a, r) => a + r.seconds, 0), 3),
    opsPerSec: round(med((r) => r.opsPerSec)!, 1),
    rounds: values.map((v) => round(v, 1)),
    min: round(Math.min(...values), 1),
    max: round(Math.max(...values), 1),
  }
  const optional = ['recordsPerSec', 'mbPerSec', 'p50Us', 'p99Us'] as const
  for (const k of optional) {
    const m = med((r) => r[k])
    if (m !== undefined) out[k] = round(m, 2)
  }
  const extraKeys = [...new Set(rows.flatMap((r) => Object.keys(r.extra ?? {})))]
  if (extraKeys.length > 0) {
    out.extra = {}
    for (const k of extraKeys) out.extra[k] = round(med((r) => r.extra?.[k])!, 3)
  }
  const note = rows.find((r) => r.note !== undefined)?.note
  if (note !== undefined) out.note = note
  return out
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Fills ratios, best peer and targets of a case from its rows. */
export function finishCase(
  c: Omit<CaseResult, 'ratios' | 'ratioToBestPeer' | 'bestPeer' | 'targets'> & { targets?: Target[] },
): CaseResult {
  const value = (r: Row): number => (c.metric === 'recordsPerSec' ? (r.recordsPerSec ?? r.opsPerSec) : r.opsPerSec)
  const cairn = c.rows.find((r) => r.kind === 'cairn')
  const peers = c.rows.filter((r) => r.kind === 'peer')
  const best = peers.reduce<Row | undefined>((b, r) => (b === undefined || value(r) > value(b) ? r : b), undefined)
  const ratios: Record<string, number> = {}
  if (cairn !== undefined) {
    for (const r of c.rows) if (r !== cairn && value(r) > 0) ratios[r.system] = round(value(cairn) / value(r), 3)
  }
  const ratioToBestPeer = cairn !== undefined && best !== undefined ? round(value(cairn) / value(best), 3) : undefined
  const targets: TargetResult[] = (c.targets ?? []).map((t) => {
    const v = (r: Row): number => (t.metric === 'recordsPerSec' ? (r.recordsPerSec ?? r.opsPerSec) : r.opsPerSec)
    let threshold: number | undefined
    if (t.absolute !== undefined) threshold = t.absolute
    else if (t.factorOfBestPeer !== undefined && best !== undefined) threshold = t.factorOfBestPeer * v(best)
    else if (t.peer !== undefined) {
      const named = peers.find((r) => r.system === t.peer)
      if (named !== undefined) threshold = (t.factor ?? 1) * v(named)
    } else if (t.limit !== undefined) {
      const named = c.rows.find((r) => r.kind === 'limit' && r.system === t.limit)
      if (named !== undefined) threshold = (t.factor ?? 1) * v(named)
    }
    const cv = cairn !== undefined ? v(cairn) : undefined
    return {
      ...t,
      cairn: cv,
      threshold: threshold !== undefined ? round(threshold, 1) : undefined,
      pass: cv !== undefined && threshold !== undefined ? cv >= threshold : undefined,
    }
  })
  return { ...c, ratios, ratioToBestPeer, bestPeer: best?.system, targets }
}

export function skippedCase(suite: string, name: string, reason: string, params: Record<string, unknown> = {}): CaseResult {
  return { suite, name, params, metric: 'opsPerSec', rows: [], ratios: {}, ratioToBestPeer: undefined, bestPeer: undefined, targets: [], skipped: reason, notes: [] }
}

// ---------------------------------------------------------------------------------------------
// Output

function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || !Number.isFinite(x)) return '-'
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  const line = (r: string[]): string => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  const sep = `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + (i === 0 ? 1 : 1)) + (i === 0 ? '' : ':')).join('|')}|`
  return [line(cells[0]!), sep, ...cells.slice(1).map(line)].join('\n')
}

/** A markdown table for one case. */
export function formatCase(c: CaseResult): string {
  const out: string[] = []
  out.push(`### ${c.suite} / ${c.name}`)
  const params = Object.entries(c.params)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ')
  if (params) out.push(`params: ${params}`)
  if (c.skipped !== undefined) {
    out.push(`SKIPPED: ${c.skipped}`)
    return out.join('\n')
  }
  out.push('')
  const hasRecords = c.rows.some((r) => r.recordsPerSec !== undefined)
  const hasMb = c.rows.some((r) => r.mbPerSec !== undefined)
  const hasLat = c.rows.some((r) => r.p50Us !== undefined)
  const extraKeys = [...new Set(c.rows.flatMap((r) => Object.keys(r.extra ?? {})))]
  const hasRange = c.rows.some((r) => r.min !== undefined)
  const header = ['system', 'ops/s']
  if (hasRecords) header.push('records/s')
  if (hasRange) header.push(`${c.metric === 'recordsPerSec' ? 'records/s' : 'ops/s'} min-max`)
  if (hasMb) header.push('MB/s')
  if (hasLat) header.push('p50 µs', 'p99 µs')
  header.push(...extraKeys)
  header.push('cairn ÷ this')
  const cells: string[][] = [header]
  for (const r of c.rows) {
    const row = [r.kind === 'limit' ? `${r.system} (limit)` : r.system, fmt(r.opsPerSec)]
    if (hasRecords) row.push(fmt(r.recordsPerSec))
    if (hasRange) row.push(r.min === undefined ? '-' : `${fmt(r.min)}-${fmt(r.max)}`)
    if (hasMb) row.push(fmt(r.mbPerSec, 1))
    if (hasLat) row.push(fmt(r.p50Us, 1), fmt(r.p99Us, 1))
    for (const k of extraKeys) row.push(fmt(r.extra?.[k], 2))
    row.push(r.kind === 'cairn' ? '1.00x' : c.ratios[r.system] !== undefined ? `${fmt(c.ratios[r.system], 2)}x` : '-')
    cells.push(row)
  }
  out.push(pad(cells))
  const rounds = c.rows.find((r) => r.rounds !== undefined)?.rounds?.length
  if (rounds !== undefined) out.push(`\nmedians of ${rounds} interleaved rounds (min-max: the case metric's range over rounds)`)
  if (c.ratioToBestPeer !== undefined) out.push(`\ncairn ÷ best peer (${c.bestPeer}): ${fmt(c.ratioToBestPeer, 2)}x`)
  for (const t of c.targets) {
    const verdict = t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'FAIL'
    out.push(`target: ${t.description} — cairn ${fmt(t.cairn)} vs needed ${fmt(t.threshold)} → ${verdict}`)
  }
  for (const r of c.rows) if (r.note) out.push(`note (${r.system}): ${r.note}`)
  for (const n of c.notes) out.push(`note: ${n}`)
  return out.join('\n')
}

export function formatSummary(cases: CaseResult[]): string {
  const targets = cases.flatMap((c) => c.targets.map((t) => ({ c, t })))
  if (targets.length === 0) return ''
  const cells: string[][] = [['case', 'target', 'cairn', 'needed', 'cairn ÷ best peer', 'result']]
  for (const { c, t } of targets) {
    const ratio = c.ratioToBestPeer === undefined ? '-' : `${fmt(c.ratioToBestPeer, 2)}x`
    cells.push([`${c.suite}/${c.name}`, t.description, fmt(t.cairn), fmt(t.threshold), ratio, t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'FAIL'])
  }
  return `### Targets\n\n${pad(cells)}`
}

export interface MachineInfo {
  date: string
  node: string
  platform: string
  arch: string
  kernel: string
  cpus: number
  cpuModel: string
  memoryBytes: number
  tmpdir: string
  disk: { device?: string; fsType?: string; mountOptions?: string; mount?: string; sizeBytes?: number; model?: string; rotational?: boolean }
  env: Record<string, string>
}

export async function machineInfo(): Promise<MachineInfo> {
  const tmp = os.tmpdir()
  const disk: MachineInfo['disk'] = {}
  try {
    const out = execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE,OPTIONS,TARGET', '-T', tmp], { encoding: 'utf8' }).trim()
    const [device, fsType, mountOptions, mount] = out.split(/\s+/)
    Object.assign(disk, { device, fsType, mountOptions, mount })
  } catch {
    // findmnt missing: leave it out.
  }
  try {
    const out = execFileSync('df', ['-P', '-B1', tmp], { encoding: 'utf8' }).trim().split('\n')[1]!.split(/\s+/)
    disk.device ??= out[0]
    disk.sizeBytes = Number(out[1])
  } catch {
    // df missing.
  }
  if (disk.device?.startsWith('/dev/')) {
    const name = disk.device.slice(5).replace(/p?\d+$/, '')
    try {
      disk.rotational = (await readFile(`/sys/block/${name}/queue/rotational`, 'utf8')).trim() === '1'
    } catch {
      // Not a block device we can see.
    }
    try {
      disk.model = (await readFile(`/sys/block/${name}/device/model`, 'utf8')).trim()
    } catch {
      // Virtual disks often have no model.
    }
  }
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('CAIRN_BENCH') && v !== undefined) env[k] = v
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    tmpdir: tmp,
    disk,
    env,
  }
}

/** Bytes this process has caused to be written to storage (Linux /proc/self/io), or undefined. */
/**
 * Bytes the temp dir's block device has written (sectors written x 512, from
 * /sys/class/block/<dev>/stat), or, where that cannot be read, this process's
 * /proc/self/io write_bytes. The device count is the ground truth: write_bytes charges a
 * process for pages it dirties, and overwriting pages of a preallocated file makes it report
 * many times what the device writes. The device count includes other processes' writes, so run
 * the bench on a quiet machine.
 */
export async function processWriteBytes(): Promise<number | undefined> {
  const device = await tempDevice()
  if (device !== undefined) {
    try {
      const fields = (await readFile(`/sys/class/block/${device}/stat`, 'utf8')).trim().split(/\s+/)
      return Number(fields[6]) * 512
    } catch {
      // Fall back to the process count.
    }
  }
  try {
    const text = await readFile('/proc/self/io', 'utf8')
    const m = /^write_bytes:\s*(\d+)/m.exec(text)
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

let tempDeviceName: Promise<string | undefined> | undefined
function tempDevice(): Promise<string | undefined> {
  tempDeviceName ??= machineInfo().then((m) => (m.disk.device?.startsWith('/dev/') ? m.disk.device.slice(5) : undefined))
  return tempDeviceName
}

/** Allocated bytes of a directory tree (du -sb is apparent size; we want blocks: du -sB1). */
export function diskUsage(dir: string): number | undefined {
  try {
    return Number(execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' }).split(/\s+/)[0])
  } catch {
    return undefined
  }
}

/** Big-endian 8-byte key for an integer id. */
export function u64Key(id: number): Uint8Array {
  const k = new Uint8Array(8)
  new DataView(k.buffer).setBigUint64(0, BigInt(id))
  return k
}

/** A 100-byte (or `size`) value whose first 8 bytes carry `id`. */
export function valueFor(id: number, size = 100): Uint8Array {
  const v = new Uint8Array(size)
  v.fill(0x61)
  new DataView(v.buffer).setFloat64(0, id)
  return v
}

export function maybeGc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}
