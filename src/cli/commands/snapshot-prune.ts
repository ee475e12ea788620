/**
 * `cairn snapshot prune --repo URL [--partition P] [--keep N] [--no-gc] [--grace-ms MS] [--json]`:
 * keeps the newest N snapshots of each partition (default: the repository default, 3), deletes
 * the other manifests, then garbage-collects chunks no retained manifest names and older than
 * the grace period (default 7 days; chunks of uploads in flight are younger).
 */
import type { Command } from 'commander'
import { intParser } from '../options.js'
import { writeLine } from '../output.js'
import {
  partitionsOf,
  type RepositoryCliOptions,
  withPartition,
  withRepository,
  withSnapshotRepository,
  withUnsafePointerUpdates,
} from './snapshot-repository-options.js'

interface PruneCliOptions extends RepositoryCliOptions {
  keep?: number
  gc: boolean
  graceMs?: number
}

export function registerSnapshotPrune(group: Command): void {
  withUnsafePointerUpdates(withPartition(withRepository(group.command('prune').description('keep the newest N snapshots, then delete unreferenced chunks'))))
    .option('-k, --keep <n>', 'snapshots to keep per partition (default 3)', intParser('keep', 1, 1_000_000))
    .option('--no-gc', 'only prune manifests; leave chunks')
    .option('--grace-ms <ms>', 'GC spares chunks younger than this (default 7 days)', intParser('grace-ms', 0))
    .action(async (options: PruneCliOptions) => {
      await withSnapshotRepository(options, options.graceMs === undefined ? {} : { gcGraceMs: options.graceMs }, async (repo) => {
        for (const partition of await partitionsOf(repo, options)) {
          const r = await repo.prune(partition, options.keep === undefined ? {} : { keep: options.keep })
          if (options.json) await writeLine(JSON.stringify({ partition, kept: r.kept, manifestsDeleted: r.manifestsDeleted }))
          else await writeLine(`${partition}: kept ${r.kept.length}, deleted ${r.manifestsDeleted.length} manifest${r.manifestsDeleted.length === 1 ? '' : 's'}`)
        }
        if (!options.gc) return
        const gc = await repo.gc()
        if (options.json) await writeLine(JSON.stringify({ gc }))
        else await writeLine(`gc: deleted ${gc.chunksDeleted} chunks (${gc.bytesDeleted} bytes), kept ${gc.chunksKept}, spared ${gc.chunksYoung} younger than the grace period`)
      })
    })
}
