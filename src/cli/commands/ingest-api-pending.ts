/** TEMPORARY: the agreed ingest API (src/ingest/index.ts of h-ingest) until it is merged. Deleted at the merge. */
import type { Store } from '../../partition/index.js'

export interface IngestTableStatus {
  name: string
  state: 'queued' | 'copying' | 'done'
  rowsCopied: number
  rowsEstimate?: number
  bytesCopied: number
  etaMs?: number
}

export interface IngestStatus {
  partition: string
  slot: string
  publication: string
  phase: 'starting' | 'copying' | 'streaming' | 'stopped' | 'failed'
  tables: IngestTableStatus[]
  consistentLsn?: number
  sourceLsn?: string
  confirmedLsn?: string
  lagBytes?: number
  lagMs?: number
  retainedWalBytes?: number
  error?: { code: string; message: string }
}

export interface PostgresIngesterOptions {
  url: string
  store: Store
  partition?: string
  tables?: string[]
  slotName?: string
  publicationName?: string
  chunkRows?: number
  copyParallelism?: number
  onProgress?: (s: IngestStatus) => void
}

export interface PostgresIngester {
  status(): IngestStatus
  stop(): Promise<void>
  readonly done: Promise<void>
}

const modulePath = '../../ingest/index.js'
// biome-ignore lint/suspicious/noExplicitAny: temporary, until the API is merged
const load = (): Promise<any> => import(/* @vite-ignore */ `${modulePath}`)

export const PostgresIngester = {
  async start(options: PostgresIngesterOptions): Promise<PostgresIngester> {
    return (await load()).PostgresIngester.start(options)
  },
}

export function readIngestStatus(meta: unknown): IngestStatus | undefined {
  const m = meta as { ingest?: IngestStatus } | undefined
  return m?.ingest
}

export async function dropIngest(options: { url: string; partition?: string; slotName?: string; publicationName?: string }): Promise<{ slotName: string; publicationName: string }> {
  return await (await load()).dropIngest(options)
}
