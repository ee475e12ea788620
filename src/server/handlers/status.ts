/**
 * GET /v1/status: liveness plus what the store holds: every partition (its first and last LSN,
 * its trim floor and trim holds among its figures) and, with a snapshot repository, the
 * repository and each partition's last known snapshot, in-flight state and last background error.
 */
import type { Context, Reply } from '../context.js'

export async function getStatus(ctx: Context): Promise<Reply> {
  const info = await ctx.store.info()
  const manager = ctx.snapshots
  const snapshots = manager === undefined ? undefined : { repository: manager.repo.url, partitions: manager.status() }
  return { json: { ok: true, storeId: info.storeId, partitions: info.partitions, ...(snapshots !== undefined && { snapshots }) } }
}
