/**
 * POST /v1/partitions/:p/snapshots: makes a snapshot of the partition in the server's repository
 * (`cairn serve --repo URL`). Body: empty, or `{"minLsn": N}` (STALE_PARTITION, 409, when the
 * partition has applied less; an existing snapshot at or above N is answered instead of a new
 * one), `{"takeOver": true}` to publish over another store's ownership (REPOSITORY_FENCED, 409,
 * otherwise). Answers partition, lsn, snapshotId, rootHash, bytesUploaded, chunksUploaded,
 * chunksTotal, entries, bytes, published, reused, epoch.
 */
import { z } from 'zod'
import { ApiError } from '../../wire/index.js'
import { type Context, describeIssues, jsonBodyOf, partitionParam, type Reply } from '../context.js'

const createBody = z.strictObject({
  minLsn: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  takeOver: z.boolean().optional(),
})

export async function postSnapshot(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const manager = ctx.snapshots
  if (manager === undefined) throw new ApiError('NOT_FOUND', 'this server has no snapshot repository: start it with cairn serve --repo URL')
  const headers = ctx.req.headers
  const empty = headers['content-length'] === '0' || (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined)
  const parsed = createBody.safeParse(empty ? {} : await jsonBodyOf(ctx))
  if (!parsed.success) throw new ApiError('INVALID_REQUEST', `invalid snapshot request: ${describeIssues(parsed.error.issues)}`)
  const { minLsn, takeOver } = parsed.data
  const r = await manager.createSnapshot(id, { ...(minLsn !== undefined && { minLsn }), ...(takeOver === true && { takeOver }) })
  const { partition, lsn, snapshotId, rootHash, bytesUploaded, chunksUploaded, chunksTotal, entries, bytes, published, reused, epoch } = r
  return { json: { partition, lsn, snapshotId, rootHash, bytesUploaded, chunksUploaded, chunksTotal, entries, bytes, published, reused, epoch } }
}
