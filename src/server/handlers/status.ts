/**
 * GET /v1/status: liveness plus what the store holds: every partition (its first and last LSN,
 * its trim floor and trim holds among its figures) and, with a snapshot repository, the
 * repository and each partition's last known snapshot, in-flight state and last background error.
 * An ingested partition carries its consistent LSN.
 */
import { readIngestStatus } from '../../ingest/index.js'
import type { Context, Reply } from '../context.js'

export async function getStatus(ctx: Context): Promise<Reply> {
  const info = await ctx.store.info()
  const partitions = info.partitions.map((p) => {
    const consistentLsn = readIngestStatus(ctx.store.catalog.partition(p.id)?.meta.ingest)?.consistentLsn
    return consistentLsn === undefined ? p : { ...p, consistentLsn }
  })
  const manager = ctx.snapshots
  const snapshots = manager === undefined ? undefined : { repository: manager.repo.url, partitions: manager.status() }
  return { json: { ok: true, storeId: info.storeId, partitions, ...(snapshots !== undefined && { snapshots }) } }
}
