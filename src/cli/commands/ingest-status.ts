/**
 * `cairn ingest status [--partition P] [--json]`: the ingester's status as it last recorded it in
 * the partition's catalog metadata (about once a second while it runs). It reads the catalog
 * through a `StoreReader` and never takes the store's lock, even when no process holds it: an
 * ingester starting at that moment must not find its store locked by a status query.
 */
import type { Command } from 'commander'
import { assertPartitionId, StoreReader } from '../../partition/index.js'
import { ApiError } from '../../wire/index.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'
import type { IngestStatus } from '../../ingest/index.js'
import { formatMs, streamLine, tableLine } from './ingest-progress.js'

interface IngestStatusOptions extends DataOptions {
  partition: string
  json?: boolean
}

export function registerIngestStatus(ingest: Command): void {
  withData(ingest.command('status').description("show an ingester's progress, lag and consistent LSN (also while it runs)"))
    .option('--partition <id>', 'the partition the ingester writes to', 'pg')
    .option('--json', 'print the status as one JSON object')
    .action(async (options: IngestStatusOptions) => {
      assertPartitionId(options.partition)
      const { status } = await readStatus(options.data, options.partition)
      if (options.json) {
        await writeLine(JSON.stringify(status))
        return
      }
      await writeLine(streamLine(status))
      if (status.sourceLsn !== undefined || status.confirmedLsn !== undefined) {
        await writeLine(`source LSN ${status.sourceLsn ?? '?'}, confirmed to Postgres ${status.confirmedLsn ?? '?'}`)
      }
      for (const t of status.tables) await writeLine(`  ${tableLine(t)}`)
      if (status.updatedAtMs !== undefined) await writeLine(`recorded ${formatMs(Math.max(0, Date.now() - status.updatedAtMs))} ago`)
    })
}

/** The recorded status; INGEST_NOT_FOUND when the partition has none. */
export async function readStatus(dir: string, partition: string): Promise<{ status: IngestStatus }> {
  const reader = await StoreReader.open(dir)
  try {
    if (!(await reader.partitions()).includes(partition)) {
      throw new ApiError('INGEST_NOT_FOUND', `the store has no partition ${JSON.stringify(partition)}: give the partition the ingester writes to (--partition)`)
    }
    const meta = await reader.partitionMeta(partition)
    const { readIngestStatus } = await import('../../ingest/index.js')
    const status = readIngestStatus(meta.ingest)
    if (status === undefined) throw new ApiError('INGEST_NOT_FOUND', `partition ${JSON.stringify(partition)} has no ingest status: no ingester has written to it (cairn ingest postgres --partition ${partition})`)
    return { status }
  } finally {
    await reader.close()
  }
}
