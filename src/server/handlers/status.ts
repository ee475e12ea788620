/**
 * GET /v1/status: liveness plus what the store holds: every partition (its first and last LSN,
 * its trim floor and trim holds among its figures) and, with a snapshot repository, the
 * repository and each partition's last known snapshot, in-flight state and last background error.
 * An ingested partition carries its consistent LSN.
 */
import type { Context, Reply } from '../context.js'

export async function getStatus(ctx: Context): Promise<Reply> {
  const info = await ctx.store.info()
  const ingestMeta = (id: string): unknown => ctx.store.catalog.partition(id)?.meta.ingest
  // The ingest module (and with it the Postgres client) loads only for a store that ingests.
  const readIngestStatus = info.partitions.some((p) => ingestMeta(p.id) !== undefined) ? (await import('../../ingest/index.js')).readIngestStatus : undefined
  const partitions = info.partitions.map((p) => {
    const consistentLsn = readIngestStatus?.(ingestMeta(p.id))?.consistentLsn
    return consistentLsn === undefined ? p : { ...p, consistentLsn }
  })
  const manager = ctx.snapshots
  const snapshots = manager === undefined ? undefined : { repository: manager.repo.url, partitions: manager.status() }
  return { json: { ok: true, storeId: info.storeId, partitions, ...(snapshots !== undefined && { snapshots }) } }
}
