/**
 * `cairn snapshot restore --repo URL --data DIR [--partition P] [--snapshot ID] [--json]`:
 * restores each partition the repository has (or one) into the store, which is created if
 * missing: the newest readable snapshot (falling back past damaged ones, and saying so on
 * stderr), or the one chosen. A partition the store has keeps its log when the log can continue
 * the snapshot (its records after the snapshot are replayed); a restore that would drop local
 * records is refused. The restored store is another writer in the repository: to publish there
 * it must `cairn snapshot create --take-over`.
 */
import type { Command } from 'commander'
import { CairnError } from '../../io/errors.js'
import { Store } from '../../partition/index.js'
import type { restoreFromRepository } from '../../snapshot/index.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'
import { humanBytes, transferProgress } from '../snapshot-progress.js'
import { loadRepositoryModules, partitionsOf, type RepositoryCliOptions, withPartition, withRepository, withSnapshotRepository } from './snapshot-repository-options.js'

interface RestoreCliOptions extends RepositoryCliOptions, DataOptions {
  snapshot?: string
}

export function registerSnapshotRestore(group: Command): void {
  withPartition(withData(withRepository(group.command('restore').description('restore partitions from the repository into the store (created if missing)'))))
    .option('-s, --snapshot <id>', 'restore this snapshot (needs --partition; default the newest readable)')
    .action(async (options: RestoreCliOptions) => {
      if (options.snapshot !== undefined && options.partition === undefined) throw new CairnError('INVALID_ARGUMENT', '--snapshot needs --partition P')
      await withSnapshotRepository(options, {}, async (repo) => {
        const partitions = await partitionsOf(repo, options)
        const store = await Store.open(options.data, { create: true })
        try {
          if (!options.json && partitions.length === 0) await writeLine(`no snapshots in ${repo.url}`)
          for (const partition of partitions) {
            const progress = transferProgress(partition, 'chunks')
            let result: Awaited<ReturnType<typeof restoreFromRepository>>
            try {
              const { restoreFromRepository } = await loadRepositoryModules()
              result = await restoreFromRepository(store, repo, partition, {
                ...(options.snapshot !== undefined && { snapshotId: options.snapshot }),
                onProgress: (p) => progress.update(p.chunksDone, p.chunksTotal, `${humanBytes(p.bytesDone)} of ${humanBytes(p.bytesTotal)}`),
              })
            } finally {
              progress.stop()
            }
            for (const n of result.fellBackFrom ?? []) process.stderr.write(`${partition}: skipped snapshot ${n.snapshotId} at LSN ${n.lsn} (${n.code}: ${n.message})\n`)
            if (options.json) {
              await writeLine(JSON.stringify(result))
              continue
            }
            await writeLine(
              `${partition}: restored snapshot ${result.snapshotId} at LSN ${result.lsn} (${result.entries} entries, ${humanBytes(result.bytes)})${result.keptLog ? `, local log kept and replayed to ${result.lastLsn}` : ''}${result.fellBackFrom === undefined ? '' : `, after skipping ${result.fellBackFrom.length} damaged snapshot(s)`}`,
            )
          }
        } finally {
          await store.close()
        }
      })
    })
}
