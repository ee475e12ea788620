/**
 * `cairn snapshot list --repo URL [--partition P] [--json]`: the retained snapshots of each
 * partition, newest first, with the writer that owns the partition and its archived LSN. Reads
 * one latest.json per partition (and a listing to find the partitions). A partition whose
 * latest.json is damaged is listed with its error, the others still are, and the exit code is 1.
 */
import type { Command } from 'commander'
import { type CairnError, CorruptionError } from '../../io/errors.js'
import type { SnapshotPointer } from '../../snapshot/index.js'
import { writeLine } from '../output.js'
import { loadRepositoryModules, partitionsOf, type RepositoryCliOptions, withPartition, withRepository, withSnapshotRepository } from './snapshot-repository-options.js'

export function registerSnapshotList(group: Command): void {
  withPartition(withRepository(group.command('list').description('list the retained snapshots of each partition, newest first'))).action(
    async (options: RepositoryCliOptions) => {
      const { isSnapshotDamage } = await loadRepositoryModules()
      await withSnapshotRepository(options, {}, async (repo) => {
        const partitions = await partitionsOf(repo, options)
        if (!options.json && partitions.length === 0) await writeLine(`no snapshots in ${repo.url}`)
        let damaged = 0
        for (const partition of partitions) {
          let latest: SnapshotPointer | undefined
          try {
            latest = await repo.latest(partition)
          } catch (e) {
            // One damaged pointer does not hide the other partitions; the exit code tells.
            if (!isSnapshotDamage(e)) throw e
            damaged++
            const error = (e as CairnError).toJSON()
            await writeLine(options.json ? JSON.stringify({ partition, error }) : `${partition}: ${error.code} ${error.message}`)
            continue
          }
          if (options.json) {
            await writeLine(JSON.stringify({ partition, writer: latest?.writer, archivedLsn: latest?.archivedLsn, snapshots: latest?.snapshots ?? [] }))
            continue
          }
          if (latest === undefined) {
            await writeLine(`${partition}: no snapshot`)
            continue
          }
          await writeLine(`${partition}: ${latest.snapshots.length} retained, archived LSN ${latest.archivedLsn}, writer ${latest.writer.storeId} (epoch ${latest.writer.epoch})`)
          for (const s of latest.snapshots) await writeLine(`  ${s.snapshotId}  lsn=${s.lsn}  created=${s.createdAt}  root=${s.rootHash.slice(0, 16)}`)
        }
        if (damaged > 0) {
          throw new CorruptionError('CORRUPT_SNAPSHOT', `${damaged} partition${damaged === 1 ? ' has' : 's have'} a damaged latest.json (listed above): run cairn snapshot verify`, {
            context: { partitions: damaged },
          })
        }
      })
    },
  )
}
