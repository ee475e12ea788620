/**
 * `npm run bench [-- suite-or-group ...]`: runs the suites (all by default; `log`, `state`, or
 * suite ids such as `log-read`), prints a markdown table per case, and writes
 * `bench/results/<timestamp>.json`, `bench/results/latest.json` and `bench/results/latest.md`.
 *
 * Interleaved cases (log-append, fsync-limit, state-write, state-read, server-http) run
 * CAIRN_BENCH_ROUNDS rounds (default 3, at least 3) of CAIRN_BENCH_ROUND_SECONDS per system
 * (default 1.5), the systems in turn, and report medians with the per-round min-max.
 *
 * Knobs: CAIRN_BENCH_SECONDS (per timed case of the other suites, default 3), CAIRN_BENCH_RECORDS (sequential read,
 * default 2,000,000), CAIRN_BENCH_WRITERS (default 64), CAIRN_BENCH_STATE_KEYS (default 500,000),
 * CAIRN_BENCH_PEERS (e.g. "lmdb,sqlite"), CAIRN_BENCH_PEERS_ONLY=1 (run state suites for the
 * peers even while cairn has no state API), CAIRN_BENCH_SERVER_ROUNDS (default 3), CAIRN_BENCH_OUT (results dir),
 * CAIRN_BENCH_PARTITIONS (many-partitions, default 1,000), CAIRN_BENCH_BASE (many-partitions: another checkout to compare with),
 * CAIRN_BENCH_SNAPSHOT_MB (snapshot state, default 256), CAIRN_BENCH_SNAPSHOT_ROUNDS (default 3).
 * CAIRN_BENCH_CHECKPOINT_MB (checkpoint: store sizes, default "100,1000"), CAIRN_BENCH_CHECKPOINT_ROUNDS (default 3).
 * CAIRN_BENCH_INGEST_ROWS (default 1,000,000), CAIRN_BENCH_INGEST_STREAM_ROWS (default 200,000),
 * CAIRN_BENCH_INGEST_LOAD_RPS (default 10,000), CAIRN_BENCH_INGEST_ROUNDS (default 3), CAIRN_BENCH_INGEST_LAG_SECONDS (default 180).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type CaseResult, formatCase, formatSummary, machineInfo, type Suite, type SuiteContext } from './harness.js'
import { checkpointSuite } from './suites/checkpoint.js'
import { bootstrapSuite } from './suites/bootstrap.js'
import { fsyncLimitSuite } from './suites/fsync-limit.js'
import { ingestSuite } from './suites/ingest.js'
import { logAppendSuite } from './suites/log-append.js'
import { logReadSuite } from './suites/log-read.js'
import { manyPartitionsSuite } from './suites/many-partitions.js'
import { serverHttpSuite, serverSuite } from './suites/server.js'
import { snapshotSuite } from './suites/snapshot.js'
import { stateSuites } from './suites/state.js'

const suites: Suite[] = [fsyncLimitSuite, logAppendSuite, logReadSuite, ...stateSuites, serverSuite, serverHttpSuite, manyPartitionsSuite, snapshotSuite, checkpointSuite, bootstrapSuite, ingestSuite]

function select(args: string[]): Suite[] {
  if (args.length === 0) return suites
  const chosen = suites.filter((s) => args.some((a) => s.id === a || s.groups.includes(a)))
  const unknown = args.filter((a) => !suites.some((s) => s.id === a || s.groups.includes(a)))
  if (unknown.length > 0) {
    const known = [...new Set(suites.flatMap((s) => [s.id, ...s.groups]))].join(', ')
    throw new Error(`unknown suite(s) ${unknown.join(', ')}: choose from ${known}`)
  }
  return chosen
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('-'))
  const chosen = select(args)
  const machine = await machineInfo()
  const log = (line: string): void => void process.stderr.write(`${line}\n`)
  log(
    `cairn bench: ${chosen.map((s) => s.id).join(', ')} | node ${machine.node}, ${machine.cpus} cpus (${machine.cpuModel}), tmp ${machine.tmpdir} on ${machine.disk.device ?? '?'} (${machine.disk.fsType ?? '?'})`,
  )
  const ctx: SuiteContext = { shared: new Map(), log }
  const cases: CaseResult[] = []
  const started = Date.now()
  const printed: string[] = []
  for (const suite of chosen) {
    log(`\n== ${suite.id}: ${suite.description}`)
    const t0 = Date.now()
    const results = await suite.run(ctx)
    log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    for (const c of results) {
      const text = formatCase(c)
      printed.push(text)
      process.stdout.write(`\n${text}\n`)
      cases.push(c)
    }
  }
  const summary = formatSummary(cases)
  if (summary) {
    printed.push(summary)
    process.stdout.write(`\n${summary}\n`)
  }
  const result = { machine, suites: chosen.map((s) => s.id), durationSeconds: (Date.now() - started) / 1000, cases }
  const outDir = process.env.CAIRN_BENCH_OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'results')
  await mkdir(outDir, { recursive: true })
  const stamp = machine.date.replace(/[:.]/g, '-')
  const json = `${JSON.stringify(result, null, 2)}\n`
  await writeFile(join(outDir, `${stamp}.json`), json)
  await writeFile(join(outDir, 'latest.json'), json)
  const header = `# cairn bench ${machine.date}\n\nnode ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, ${Math.round(machine.memoryBytes / 2 ** 30)} GiB, kernel ${machine.kernel}; temp dir ${machine.tmpdir} on ${machine.disk.device ?? '?'} (${machine.disk.fsType ?? '?'}, ${machine.disk.mountOptions ?? '?'}${machine.disk.rotational === undefined ? '' : machine.disk.rotational ? ', rotational' : ', non-rotational'}); suites: ${chosen.map((s) => s.id).join(', ')}; ${result.durationSeconds.toFixed(0)} s\n`
  await writeFile(join(outDir, 'latest.md'), `${header}\n${printed.join('\n\n')}\n`)
  log(`\nresults: ${join(outDir, `${stamp}.json`)} (and latest.json, latest.md); ${result.durationSeconds.toFixed(0)} s in all`)
}

await main()
