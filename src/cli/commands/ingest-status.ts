/**
 * `cairn ingest status [--partition P] [--json]`: the ingester's status as it last recorded it in
 * the partition's catalog metadata. Works while the ingester runs (it holds the store: the
 * catalog is read beside it, read-only) and after it stopped (the last status it recorded).
 */
import type { Command } from 'commander'
import { assertPartitionId } from '../../partition/index.js'
import { ApiError } from '../../wire/index.js'
import { withReadableStore } from '../open-store.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'
import type { IngestStatus } from '../../ingest/index.js'
import { streamLine, tableLine } from './ingest-progress.js'

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
      const { status, readOnly } = await readStatus(options.data, options.partition)
      if (options.json) {
        await writeLine(JSON.stringify(status))
        return
      }
      await writeLine(streamLine(status))
      if (status.sourceLsn !== undefined || status.confirmedLsn !== undefined) {
        await writeLine(`source LSN ${status.sourceLsn ?? '?'}, confirmed to Postgres ${status.confirmedLsn ?? '?'}`)
      }
      for (const t of status.tables) await writeLine(`  ${tableLine(t)}`)
      if (!readOnly) await writeLine('(no process holds the store: this is the status the ingester recorded last)')
    })
}

/** The recorded status; INGEST_NOT_FOUND when the partition has none. */
export async function readStatus(dir: string, partition: string): Promise<{ status: IngestStatus; readOnly: boolean }> {
  return await withReadableStore(dir, async (readable) => {
    const meta = readable.readOnly ? await readable.reader.partitionMeta(partition) : readable.store.catalog.partition(partition)?.meta
    if (meta === undefined) throw new ApiError('INGEST_NOT_FOUND', `the store has no partition ${JSON.stringify(partition)}: give the partition the ingester writes to (--partition)`)
    const { readIngestStatus } = await import('../../ingest/index.js')
    const status = readIngestStatus(meta.ingest)
    if (status === undefined) throw new ApiError('INGEST_NOT_FOUND', `partition ${JSON.stringify(partition)} has no ingest status: no ingester has written to it (cairn ingest postgres --partition ${partition})`)
    return { status, readOnly: readable.readOnly }
  })
}
