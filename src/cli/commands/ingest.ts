/** `cairn ingest`: replicate a source database into a partition, and look after it. */
import type { Command } from 'commander'
import { registerIngestDrop } from './ingest-drop.js'
import { registerIngestPostgres } from './ingest-postgres.js'
import { registerIngestStatus } from './ingest-status.js'

export function registerIngest(program: Command): void {
  const ingest = program.command('ingest').description('replicate Postgres tables into a partition (initial copy while streaming changes)')
  registerIngestPostgres(ingest)
  registerIngestStatus(ingest)
  registerIngestDrop(ingest)
}
