/**
 * `cairn snapshot verify --repo URL [--partition P] [--snapshot ID] [--json]`: reads every object
 * the retained snapshots depend on (or one snapshot's) and checks each against its hash. Lists
 * every bad object (`<partition> <missing|corrupt|unparsable> <key>: <detail>`) and exits 1 if
 * there is one. `--json`: one object per partition per line.
 */
import type { Command } from 'commander'
import { CairnError, CorruptionError } from '../../io/errors.js'
import { writeLine } from '../output.js'
import { partitionsOf, type RepositoryCliOptions, withPartition, withRepository, withSnapshotRepository } from './snapshot-repository-options.js'

export function registerSnapshotVerify(group: Command): void {
  withPartition(withRepository(group.command('verify').description('check every retained snapshot (or one); exit 1 if an object is missing or damaged')))
    .option('-s, --snapshot <id>', 'check only this snapshot (needs --partition)')
    .action(async (options: RepositoryCliOptions & { snapshot?: string }) => {
      if (options.snapshot !== undefined && options.partition === undefined) {
        throw new CairnError('INVALID_ARGUMENT', '--snapshot needs --partition P')
      }
      const bad = await withSnapshotRepository(options, {}, async (repo) => {
        let problems = 0
        const partitions = await partitionsOf(repo, options)
        for (const partition of partitions) {
          const r = await repo.verify(partition, options.snapshot === undefined ? {} : { snapshotId: options.snapshot })
          problems += r.problems.length
          if (options.json) {
            await writeLine(JSON.stringify({ partition, ...r }))
            continue
          }
          await writeLine(`${partition}: ${r.ok ? 'ok' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`} (${r.snapshotsChecked} snapshots, ${r.chunksChecked} chunks checked)`)
          for (const p of r.problems) await writeLine(`  ${p.problem} ${p.key}: ${p.detail}`)
        }
        if (!options.json && partitions.length === 0) await writeLine(`no snapshots in ${repo.url}`)
        return problems
      })
      if (bad > 0) {
        throw new CorruptionError('CORRUPT_SNAPSHOT', `${bad} missing or damaged object${bad === 1 ? '' : 's'} in ${options.repo} (listed above): restore from a good snapshot or create a new one`, {
          context: { problems: bad },
        })
      }
    })
}
