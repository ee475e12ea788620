/** The log API: append records, read them back. */
import { CairnError } from '../../io/errors.js'
import { ApiError } from '../error-response.js'
import { bytesField } from '../bytes-json.js'
import { type Context, describeIssues, intParam, jsonBodyOf, partitionParam, type Reply, writePartition } from '../context.js'
import { appendBody, recordBytes } from '../schemas.js'

/** POST /v1/partitions/:p/records `{"records":[{"payload":"..."}|{"payloadBase64":"..."}]}` -> `{"lsn":N}` once durable. */
export async function postRecords(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const parsed = appendBody.safeParse(await jsonBodyOf(ctx))
  if (!parsed.success) throw new ApiError('INVALID_REQUEST', `invalid records: ${describeIssues(parsed.error.issues)}`)
  const payloads = parsed.data.records.map(recordBytes)
  // Checked before the partition is created, so a refused request writes nothing at all.
  let bytes = 0
  for (const p of payloads) {
    if (p.length > ctx.options.recordBytesMax) {
      throw new CairnError(
        'RECORD_TOO_LARGE',
        `a record is at most ${ctx.options.recordBytesMax} bytes (one is ${p.length}): store large blobs elsewhere and log a reference`,
        { context: { bytes: p.length, recordBytesMax: ctx.options.recordBytesMax } },
      )
    }
    bytes += p.length
  }
  const partition = await writePartition(ctx, id)
  const lsn = await partition.append(payloads)
  ctx.metrics.appendedRecords.inc(payloads.length)
  ctx.metrics.appendedBytes.inc(bytes)
  return { json: { lsn } }
}

/** GET /v1/partitions/:p/records?from=&limit= -> `{"records":[{"lsn":1,"payload":"..."}]}`. */
export async function getRecords(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const from = intParam(ctx, 'from', 0, 1)
  const limit = intParam(ctx, 'limit', ctx.options.readLimitDefault, 1, ctx.options.readLimitMax)
  const partition = await ctx.store.partition(id)
  const records: Array<Record<string, unknown>> = []
  const options = from === 0 ? { limit } : { fromLsn: from, limit }
  for await (const { lsn, payload } of partition.read(options)) records.push({ lsn, ...bytesField('payload', payload) })
  return { json: { records } }
}
