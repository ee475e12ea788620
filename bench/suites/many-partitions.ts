/**
 * A store of many one-key partitions (issue 7): start-up (open, first answer, `info`), and the
 * descriptors and RSS it holds after `info` and at the peak of a 16 KiB write round over every
 * partition (and of four 64 KiB rounds). Each system runs in a child process of its own (bench/many-partitions-probe.ts) on
 * a store it created itself. Set CAIRN_BENCH_BASE to another checkout (e.g. the commit before
 * the memory budget) to get its row beside this tree's; CAIRN_BENCH_PARTITIONS (default 1,000).
 * Lower is better for every figure here; opsPerSec is partitions per second of start-up to the
 * first answer, for the summary.
 */
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type CaseResult, finishCase, round, type Row, type Suite, withTempDir } from '../harness.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const partitions = Number(process.env.CAIRN_BENCH_PARTITIONS ?? 1000)

interface Probe {
  openMs: number
  firstAnswerMs: number
  infoMs: number
  fdsAfterInfo: number
  rssAfterInfoMb: number
  roundMs: number
  fdsPeak: number
  rssPeakMb: number
  heavyMs: number
  heavyFdsPeak: number
  heavyRssPeakMb: number
}

function probe(root: string, dir: string, phase: 'create' | 'measure'): string {
  // The probe imports `root`'s sources; tsx resolves them from this tree's node_modules.
  return execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 'many-partitions-probe.ts'), root, dir, phase, String(partitions)], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  })
}

function rowOf(system: string, kind: Row['kind'], p: Probe): Row {
  const seconds = p.firstAnswerMs / 1000
  return {
    system,
    kind,
    ops: partitions,
    seconds: round(seconds, 3),
    opsPerSec: round(partitions / seconds, 1),
    extra: {
      openMs: round(p.openMs, 1),
      firstAnswerMs: round(p.firstAnswerMs, 1),
      infoMs: round(p.infoMs, 1),
      fdsAfterInfo: p.fdsAfterInfo,
      rssAfterInfoMb: round(p.rssAfterInfoMb, 1),
      writeRoundMs: round(p.roundMs, 0),
      fdsPeakWriteRound: p.fdsPeak,
      rssPeakWriteRoundMb: round(p.rssPeakMb, 1),
      heavyRoundsMs: round(p.heavyMs, 0),
      fdsPeakHeavyRounds: p.heavyFdsPeak,
      rssPeakHeavyRoundsMb: round(p.heavyRssPeakMb, 1),
    },
  }
}

export const manyPartitionsSuite: Suite = {
  id: 'many-partitions',
  groups: ['store'],
  description: `start-up, descriptors and RSS of a store of ${partitions} one-key partitions`,
  async run(ctx): Promise<CaseResult[]> {
    const systems: Array<[string, Row['kind'], string]> = [['cairn', 'cairn', repoRoot]]
    const base = process.env.CAIRN_BENCH_BASE
    if (base !== undefined && base !== '') systems.push([`cairn@base (${base})`, 'limit', base])
    const rows: Row[] = []
    for (const [system, kind, root] of systems) {
      await withTempDir('many', async (dir) => {
        const store = join(dir, 'store')
        ctx.log(`   ${system}: creating ${partitions} partitions`)
        probe(root, store, 'create')
        const p = JSON.parse(probe(root, store, 'measure').trim()) as Probe
        rows.push(rowOf(system, kind, p))
      })
    }
    const notes = [
      'openMs: Store.open; firstAnswerMs: open + the first get; infoMs: store.info() over every partition; fds and RSS measured in the probe process (descriptors over its count before the open)',
      'write round: one 16 KiB put to every partition, 16 writers; heavy rounds: four more of 64 KiB (256 MiB over 1,000 partitions); peak descriptors and RSS sampled every 8 partitions',
    ]
    return [finishCase({ suite: 'many-partitions', name: `${partitions} one-key partitions`, params: { partitions }, metric: 'opsPerSec', rows, notes })]
  },
}
