/** GET /v1/status: liveness plus what the store holds (an ingested partition with its consistent LSN). */
import { readIngestStatus } from '../../ingest/index.js'
import type { Context, Reply } from '../context.js'

export async function getStatus(ctx: Context): Promise<Reply> {
  const info = await ctx.store.info()
  const partitions = info.partitions.map((p) => {
    const consistentLsn = readIngestStatus(ctx.store.catalog.partition(p.id)?.meta.ingest)?.consistentLsn
    return consistentLsn === undefined ? p : { ...p, consistentLsn }
  })
  return { json: { ok: true, storeId: info.storeId, partitions } }
}
