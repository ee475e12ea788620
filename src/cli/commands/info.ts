/**
 * `cairn info [partition] [--json]`: the store and its partitions, or one partition's LSNs and
 * tables. Beside a running server (another process holds the store) it reads a read-only view as
 * of that moment and says so: the store from its catalog only (no partition is opened to list
 * it), a partition from its tables and its log replayed in memory.
 */
import type { Command } from 'commander'
import { assertPartitionId } from '../../partition/index.js'
import { withReadablePartition, withReadableStore } from '../open-store.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'

interface InfoOptions extends DataOptions {
  json?: boolean
}

export function registerInfo(program: Command): void {
  withData(program.command('info').description('show the store and its partitions, or one partition'))
    .argument('[partition]', "a partition id: show that partition's LSNs and tables")
    .option('--json', 'print one JSON object')
    .action(async (partitionId: string | undefined, options: InfoOptions) => {
      if (partitionId !== undefined) await partitionInfo(partitionId, options)
      else await storeInfo(options)
    })
}

async function storeInfo(options: InfoOptions): Promise<void> {
  const info = await withReadableStore(options.data, async (readable) =>
    readable.readOnly ? await readable.reader.info() : { ...(await readable.store.info()), readOnly: false as const },
  )
  if (options.json) {
    await writeLine(toJson(info))
    return
  }
  await writeLine(`store ${info.storeId} at ${info.dir} (created ${new Date(info.createdAtMs).toISOString()})`)
  if (info.readOnly) await writeLine(readOnlyNote(info.asOfMs, 'for the LSNs and tables of a partition: cairn info <partition>'))
  await writeLine(`${info.partitions.length} partition${info.partitions.length === 1 ? '' : 's'}`)
  for (const p of info.partitions) await writeLine(`  ${fieldsLine(p)}`)
  if (info.lostAndFound.length > 0) {
    await writeLine(`${info.lostAndFound.length} in lost+found (directories no catalog entry names; check them, then remove them):`)
    for (const name of info.lostAndFound) await writeLine(`  ${name}`)
  }
}

async function partitionInfo(partitionId: string, options: InfoOptions): Promise<void> {
  assertPartitionId(partitionId)
  const info = await withReadablePartition(options.data, partitionId, async (p, meta) => ({ readOnly: false, ...p.info(), ...(await ingestFields(meta)) }) as Record<string, unknown>)
  if (options.json) {
    await writeLine(toJson(info))
    return
  }
  const { readOnly, asOfMs, ...rest } = info
  if (readOnly === true) await writeLine(readOnlyNote(Number(asOfMs)))
  await writeLine(fieldsLine(rest))
}

/** An ingested partition's consistent LSN (absent until the ingester published one). */
async function ingestFields(meta: Readonly<Record<string, unknown>>): Promise<{ consistentLsn?: number }> {
  if (meta.ingest === undefined) return {}
  // Loaded only for an ingested partition: other commands do not pay for the Postgres client.
  const { readIngestStatus } = await import('../../ingest/index.js')
  const lsn = readIngestStatus(meta.ingest)?.consistentLsn
  return lsn === undefined ? {} : { consistentLsn: lsn }
}

function readOnlyNote(asOfMs: number, more?: string): string {
  return `read-only view as of ${new Date(asOfMs).toISOString()}: another process holds the store (a running server?)${more === undefined ? '' : `; ${more}`}`
}

/** `id  k=v k=v ...`, printed generically so fields the engine adds show up too. */
function fieldsLine(fields: object): string {
  const { id, ...rest } = fields as Record<string, unknown>
  return `${String(id)}  ${Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ')}`
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
}
