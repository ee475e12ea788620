/** The key-value API: point reads and writes, atomic batches, range scans in bounded pages. */
import { type ScanRange, type StateOp, validateKey, validateStateOps, validateValue } from '../../partition/index.js'
import { ApiError, base64Pattern, bytesField, fromBase64 } from '../../wire/index.js'
import { bodyOf, boolParam, type Context, describeIssues, intParam, jsonBodyOf, partitionParam, type Reply, writePartition } from '../context.js'
import { PageWriter } from '../page-writer.js'
import { decodeSegment } from '../router.js'
import { batchBody, opBytes, textBytes } from '../schemas.js'

const jsonType = 'application/json; charset=utf-8'

/** Query parameter `name` as bytes, from `name` (text) or `nameBase64`; undefined when neither is given. */
function bytesQuery(ctx: Context, name: string): Uint8Array | undefined {
  const text = ctx.query.get(name)
  const b64 = ctx.query.get(`${name}Base64`)
  if (text !== null && b64 !== null) throw new ApiError('INVALID_REQUEST', `give ${name} or ${name}Base64, not both`)
  if (b64 !== null) {
    if (!base64Pattern.test(b64)) throw new ApiError('INVALID_REQUEST', `query parameter ${name}Base64 must be base64`)
    return fromBase64(b64)
  }
  return text === null ? undefined : textBytes(text, name)
}

/** The key: the `:key` path segment (UTF-8 text), or `?key=` / `?keyBase64=` on `/kv`. */
function keyParam(ctx: Context): Uint8Array {
  let key: Uint8Array | undefined
  if (ctx.params.key !== undefined) {
    const text = decodeSegment(ctx.params.key)
    if (text === undefined) throw new ApiError('INVALID_TEXT', 'the key in the path is not valid percent-encoded UTF-8: give bytes as /kv?keyBase64=')
    key = textBytes(text, 'key')
  } else {
    key = bytesQuery(ctx, 'key')
    if (key === undefined) throw new ApiError('INVALID_REQUEST', 'give the key in the path (/kv/<key>) or as /kv?key= or /kv?keyBase64=')
  }
  validateKey(key)
  return key
}

function keyShown(key: Uint8Array): string {
  return JSON.stringify(bytesField('key', key.subarray(0, 80)))
}

/** PUT /v1/partitions/:p/kv/:key (or /kv?keyBase64=), raw body = value -> `{"lsn":N}`. */
export async function putKey(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const key = keyParam(ctx)
  const value = new Uint8Array(await bodyOf(ctx))
  validateValue(value)
  const partition = await writePartition(ctx, id)
  const lsn = await partition.put(key, value)
  ctx.metrics.appendedRecords.inc()
  ctx.metrics.appendedBytes.inc(key.length + value.length)
  return { json: { lsn } }
}

/** GET /v1/partitions/:p/kv/:key (or /kv?keyBase64=) -> the raw value; 404 KEY_NOT_FOUND. */
export async function getKey(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const key = keyParam(ctx)
  const value = await (await ctx.store.partition(id)).get(key)
  if (value === undefined) throw new ApiError('KEY_NOT_FOUND', `no key ${keyShown(key)} in partition ${id}`)
  return { bytes: value, contentType: 'application/octet-stream' }
}

/** DELETE /v1/partitions/:p/kv/:key (or /kv?keyBase64=) -> `{"lsn":N}` (deleting a missing key is not an error). */
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
  const ops: StateOp[] = parsed.data.ops.map((json, i) => {
    const o = json as Record<string, unknown>
    const op: StateOp =
      json.type === 'put'
        ? { type: 'put', key: opBytes(o, 'key'), value: opBytes(o, 'value') }
        : json.type === 'delete'
          ? { type: 'delete', key: opBytes(o, 'key') }
          : { type: 'deleteRange', start: opBytes(o, 'start'), end: opBytes(o, 'end') }
    validateStateOps([op])
    if (op.type === 'deleteRange' && Buffer.compare(op.start, op.end) > 0) {
      throw new ApiError('INVALID_REQUEST', `ops.${i}: deleteRange start is after its end: give start <= end`)
    }
    bytes += op.type === 'put' ? op.key.length + op.value.length : op.type === 'delete' ? op.key.length : op.start.length + op.end.length
    return op
  })
  const lsn = await (await writePartition(ctx, id)).write({ ops })
  ctx.metrics.appendedRecords.inc()
  ctx.metrics.appendedBytes.inc(bytes)
  return { json: { lsn } }
}

/**
 * GET /v1/partitions/:p/scan?gte=&gt=&lte=&lt=&limit=&reverse=&maxBytes= (each bound also as
 * `<bound>Base64`) -> `{"entries":[{"key","value"}],"next":{"keyBase64":"..."}}`. `next` is there
 * when more entries exist: go on with `gteBase64=<next>` (`lteBase64=` when reverse).
 */
export async function getScan(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const limit = intParam(ctx, 'limit', ctx.options.readLimitDefault, 1, ctx.options.readLimitMax)
  const maxBytes = intParam(ctx, 'maxBytes', ctx.options.pageBytesDefault, 1, ctx.options.pageBytesMax)
  // One entry past the page tells whether there is more, and where it starts.
  const options: ScanRange = { limit: limit + 1, reverse: boolParam(ctx, 'reverse') }
  for (const bound of ['gte', 'gt', 'lte', 'lt'] as const) {
    const bytes = bytesQuery(ctx, bound)
    if (bytes !== undefined) options[bound] = bytes
  }
  const partition = await ctx.store.partition(id)
  const page = new PageWriter(maxBytes, ctx.reservePage)
  let next: Uint8Array | undefined
  for await (const [key, value] of partition.scan(options)) {
    if (page.count >= limit || !page.add({ ...bytesField('key', key), ...bytesField('value', value) })) {
      next = key
      break
    }
  }
  const continuation = next === undefined ? undefined : { keyBase64: Buffer.from(next).toString('base64') }
  return { text: page.text('entries', continuation), contentType: jsonType }
}
