/**
 * `cairn snapshot create --repo URL --data DIR [--partition P] [--min-lsn N] [--take-over]
 * [--allow-unsafe-pointer-updates] [--json]`: snapshots each partition of the store (or one) at
 * its applied LSN into the repository, uploading only the chunks it lacks. `--json` prints one
 * object per partition per line (partition, lsn, snapshotId, rootHash, bytesUploaded,
 * chunksUploaded, chunksTotal, entries, bytes, published, reused, epoch). `--min-lsn` declines
 * (STALE_PARTITION) a partition below it and returns a snapshot at or above it that exists.
 * Another store owning the partition in the repository is REPOSITORY_FENCED unless `--take-over`.
 */
import type { Command } from 'commander'
import { CairnError } from '../../io/errors.js'
import { Store } from '../../partition/index.js'
import type { SnapshotCreated, SnapshotManager } from '../../snapshot/index.js'
import { type DataOptions, intParser, withData } from '../options.js'
import { writeLine } from '../output.js'
import { humanBytes, transferProgress } from '../snapshot-progress.js'
import { loadRepositoryModules, type RepositoryCliOptions, withPartition, withRepository, withUnsafePointerUpdates } from './snapshot-repository-options.js'

interface CreateCliOptions extends RepositoryCliOptions, DataOptions {
  minLsn?: number
  takeOver?: boolean
}

export function registerSnapshotCreate(group: Command): void {
  withUnsafePointerUpdates(withPartition(withData(withRepository(group.command('create').description("snapshot the store's partitions into the repository"))), 'only this partition (default: every partition of the store)'))
    .option('--min-lsn <lsn>', 'decline (STALE_PARTITION) below this applied LSN; reuse a snapshot at or above it', intParser('min-lsn', 0))
    .option('--take-over', 'publish even if another store owns the partition in the repository (fences it)')
    .action(async (options: CreateCliOptions) => {
      const store = await Store.open(options.data, { create: false })
      try {
        const { openObjectStore, SnapshotManager, SnapshotRepository } = await loadRepositoryModules()
        const objects = await openObjectStore(options.repo)
        try {
          const repo = await SnapshotRepository.open(objects, { allowUnsafePointerUpdates: options.allowUnsafePointerUpdates === true })
          // No recovery: a create never restores anything behind the user's back.
          const manager = SnapshotManager.attach(store, repo, { recover: false })
          try {
            const partitions = options.partition !== undefined ? [options.partition] : store.partitions()
            if (options.partition !== undefined && !store.hasPartition(options.partition)) {
              throw new CairnError('PARTITION_NOT_FOUND', `partition ${options.partition} does not exist in ${store.dir}`, { context: { partition: options.partition } })
            }
            if (!options.json && partitions.length === 0) await writeLine(`no partitions in ${store.dir}`)
            for (const partition of partitions) await createOne(manager, partition, options)
          } finally {
            await manager.close()
          }
        } finally {
          await objects.close()
        }
      } finally {
        await store.close()
      }
    })
}

async function createOne(manager: SnapshotManager, partition: string, options: CreateCliOptions): Promise<void> {
  const progress = transferProgress(partition, 'chunks')
  let result: SnapshotCreated
  try {
    result = await manager.createSnapshot(partition, {
      ...(options.minLsn !== undefined && { minLsn: options.minLsn }),
      ...(options.takeOver === true && { takeOver: true }),
      onProgress: (p) => progress.update(p.chunksDone, 0, `${p.chunksUploaded} uploaded (${humanBytes(p.bytesUploaded)}), ${p.entries} entries`),
    })
  } finally {
    progress.stop()
  }
  if (options.json) {
    const { partition: id, lsn, snapshotId, rootHash, bytesUploaded, chunksUploaded, chunksTotal, entries, bytes, published, reused, epoch } = result
    await writeLine(JSON.stringify({ partition: id, lsn, snapshotId, rootHash, bytesUploaded, chunksUploaded, chunksTotal, entries, bytes, published, reused, epoch }))
    return
  }
  const what = result.published ? 'published' : result.reused ? `reused (at or above --min-lsn ${options.minLsn})` : 'already in the repository (nothing new)'
  await writeLine(
    `${partition}: snapshot ${result.snapshotId} at LSN ${result.lsn} ${what}: ${result.chunksUploaded}/${result.chunksTotal} chunks uploaded (${humanBytes(result.bytesUploaded)}), ${result.entries} entries, root ${result.rootHash.slice(0, 16)}`,
  )
}
