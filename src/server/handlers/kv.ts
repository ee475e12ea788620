/** The key-value API: point reads and writes, atomic batches, range scans. */
import { bytesField, utf8 } from '../bytes-json.js'
import { bodyOf, boolParam, type Context, describeIssues, intParam, jsonBodyOf, partitionParam, type Reply, writePartition } from '../context.js'
import { ApiError } from '../error-response.js'
import { checkKey, checkOp, checkValue } from '../kv-limits.js'
import type { ScanRange, StateOp } from '../../state/index.js'
import { decodeSegment } from '../router.js'
import { batchBody, opBytes } from '../schemas.js'

function keyParam(ctx: Context): Uint8Array {
  const text = decodeSegment(ctx.params.key ?? '')
  if (text === undefined) throw new ApiError('INVALID_REQUEST', 'the key in the path is not valid percent-encoding')
  const key = utf8(text)
  checkKey(key)
  return key
}

/** PUT /v1/partitions/:p/kv/:key, raw body = value -> `{"lsn":N}`. */
export async function putKey(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const key = keyParam(ctx)
  const value = new Uint8Array(await bodyOf(ctx))
  checkValue(value)
  const partition = await writePartition(ctx, id)
  const lsn = await partition.put(key, value)
  ctx.metrics.appendedRecords.inc()
  ctx.metrics.appendedBytes.inc(key.length + value.length)
  return { json: { lsn } }
}

/** GET /v1/partitions/:p/kv/:key -> the raw value; 404 KEY_NOT_FOUND. */
export async function getKey(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const key = keyParam(ctx)
  const value = await (await ctx.store.partition(id)).get(key)
  if (value === undefined) throw new ApiError('KEY_NOT_FOUND', `no key ${JSON.stringify(ctx.params.key?.slice(0, 80))} in partition ${id}`)
  return { bytes: value, contentType: 'application/octet-stream' }
}

/** DELETE /v1/partitions/:p/kv/:key -> `{"lsn":N}` (deleting a missing key is not an error). */
export async function deleteKey(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const key = keyParam(ctx)
  const lsn = await (await writePartition(ctx, id)).delete(key)
  ctx.metrics.appendedRecords.inc()
  ctx.metrics.appendedBytes.inc(key.length)
  return { json: { lsn } }
}

/** POST /v1/partitions/:p/batch `{"ops":[...]}` -> `{"lsn":N}`, applied atomically. */
export async function postBatch(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const parsed = batchBody.safeParse(await jsonBodyOf(ctx))
  if (!parsed.success) throw new ApiError('INVALID_REQUEST', `invalid ops: ${describeIssues(parsed.error.issues)}`)
  let bytes = 0
  const ops: StateOp[] = parsed.data.ops.map((json) => {
    const o = json as Record<string, unknown>
    const op: StateOp =
      json.type === 'put'
        ? { type: 'put', key: opBytes(o, 'key'), value: opBytes(o, 'value') }
        : json.type === 'delete'
          ? { type: 'delete', key: opBytes(o, 'key') }
          : { type: 'deleteRange', start: opBytes(o, 'start'), end: opBytes(o, 'end') }
    checkOp(op)
    bytes += op.type === 'put' ? op.key.length + op.value.length : op.type === 'delete' ? op.key.length : op.start.length + op.end.length
    return op
  })
  const lsn = await (await writePartition(ctx, id)).write({ ops })
  ctx.metrics.appendedRecords.inc()
  ctx.metrics.appendedBytes.inc(bytes)
  return { json: { lsn } }
}

/** GET /v1/partitions/:p/scan?gte=&gt=&lte=&lt=&limit=&reverse= -> `{"entries":[{"key","value"}]}`. */
export async function getScan(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const options: ScanRange = {
    limit: intParam(ctx, 'limit', ctx.options.readLimitDefault, 1, ctx.options.readLimitMax),
    reverse: boolParam(ctx, 'reverse'),
  }
  for (const bound of ['gte', 'gt', 'lte', 'lt'] as const) {
    const text = ctx.query.get(bound)
    if (text !== null) options[bound] = utf8(text)
  }
  const partition = await ctx.store.partition(id)
  const entries: Array<Record<string, string>> = []
  for await (const [key, value] of partition.scan(options)) {
    entries.push({ ...bytesField('key', key), ...bytesField('value', value) })
    // The engine honours limit; this guards the response size if it ever does not.
    if (entries.length >= (options.limit ?? 0)) break
  }
  return { json: { entries } }
}
