/**
 * `cairn snapshot show --repo URL --partition P [--snapshot ID] [--json]`: one snapshot's
 * manifest (default the latest readable one). `--json` prints the whole manifest, chunk list
 * included.
 */
import type { Command } from 'commander'
import { CairnError } from '../../io/errors.js'
import { writeLine } from '../output.js'
import { type RepositoryCliOptions, withPartition, withRepository, withSnapshotRepository } from './snapshot-repository-options.js'

export function registerSnapshotShow(group: Command): void {
  withPartition(withRepository(group.command('show').description("show a snapshot's manifest (default: the latest)")), 'the partition (required)')
    .option('-s, --snapshot <id>', 'the snapshot id (default: the latest)')
    .action(async (options: RepositoryCliOptions & { snapshot?: string }) => {
      if (options.partition === undefined) throw new CairnError('INVALID_ARGUMENT', 'snapshot show needs --partition P')
      const partition = options.partition
      await withSnapshotRepository(options, {}, async (repo) => {
        const m = await repo.manifest(partition, options.snapshot)
        if (options.json) {
          await writeLine(JSON.stringify(m))
          return
        }
        await writeLine(`snapshot ${m.snapshotId} of partition ${m.partition}`)
        await writeLine(`  lsn=${m.lsn} logId=${m.logId} created=${m.createdAt}`)
        await writeLine(`  producer=${m.producer.software} store=${m.producer.storeId}`)
        await writeLine(`  entries=${m.entries} bytes=${m.bytes} chunks=${m.chunks.length}`)
        await writeLine(`  root=${m.rootHash}`)
      })
    })
}
