/**
 * `cairn ingest drop --url URL [--slot NAME] [--publication NAME]`: removes the replication slot
 * and the publication from Postgres, so the source stops retaining WAL for an ingester that will
 * not come back. The partition's rows stay in cairn; a later `ingest postgres` starts over.
 */
import type { Command } from 'commander'
import { assertPartitionId } from '../../partition/index.js'
import { writeLine } from '../output.js'
import { postgresUrlParser, publicationParser, slotParser } from './ingest-options.js'

interface IngestDropOptions {
  url: string
  partition: string
  slot?: string
  publication?: string
}

export function registerIngestDrop(ingest: Command): void {
  ingest
    .command('drop')
    .description("remove an ingester's replication slot and publication from Postgres (stop the ingester first)")
    .requiredOption('--url <url>', 'the source: postgres://user:password@host:port/database', postgresUrlParser)
    .option('--partition <id>', 'the partition the ingester wrote to (the default slot and publication names derive from it)', 'pg')
    .option('--slot <name>', 'the replication slot', slotParser)
    .option('--publication <name>', 'the publication', publicationParser)
    .action(async (options: IngestDropOptions) => {
      assertPartitionId(options.partition)
      const { dropIngest, defaultSourceName } = await import('../../ingest/index.js')
      const slotName = options.slot ?? defaultSourceName(options.partition)
      const publicationName = options.publication ?? defaultSourceName(options.partition)
      const dropped = await dropIngest({ url: options.url, slotName, publicationName })
      await writeLine(`slot ${slotName}: ${dropped.slotDropped ? 'dropped' : 'not found'}; publication ${publicationName}: ${dropped.publicationDropped ? 'dropped' : 'not found'}`)
    })
}
