/** GET /v1/status: liveness plus what the store holds. */
import type { Context, Reply } from '../context.js'

export async function getStatus(ctx: Context): Promise<Reply> {
  const info = await ctx.store.info()
  return { json: { ok: true, storeId: info.storeId, partitions: info.partitions } }
}
