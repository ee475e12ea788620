/** The log API: append records, read them back in pages bounded by count and bytes. */
import { checkRecordBytes } from '../../partition/index.js'
import { ApiError, bytesField } from '../../wire/index.js'
import { type Context, describeIssues, intParam, jsonBodyOf, partitionParam, type Reply, writePartition } from '../context.js'
import { PageWriter } from '../page-writer.js'
import { appendBody, recordBytes } from '../schemas.js'

const jsonType = 'application/json; charset=utf-8'

/** POST /v1/partitions/:p/records `{"records":[{"payload":"..."}|{"payloadBase64":"..."}]}` -> `{"lsn":N}` once durable. */
export async function postRecords(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const parsed = appendBody.safeParse(await jsonBodyOf(ctx))
  if (!parsed.success) throw new ApiError('INVALID_REQUEST', `invalid records: ${describeIssues(parsed.error.issues)}`)
  const payloads = parsed.data.records.map(recordBytes)
  // Checked before the partition is created, so a refused request writes nothing at all.
  let bytes = 0
  for (const p of payloads) {
    checkRecordBytes(p.length, ctx.options.recordBytesMax)
    bytes += p.length
  }
  const partition = await writePartition(ctx, id)
  const lsn = await partition.append(payloads)
  ctx.metrics.appendedRecords.inc(payloads.length)
  ctx.metrics.appendedBytes.inc(bytes)
  return { json: { lsn } }
}

/**
 * GET /v1/partitions/:p/records?from=&limit=&maxBytes= -> `{"records":[{"lsn":1,"payload":"..."}],"next":N}`.
 * `next` (the LSN to read from) is there when more records exist than the page holds.
 */
export async function getRecords(ctx: Context): Promise<Reply> {
  const id = partitionParam(ctx)
  const from = intParam(ctx, 'from', 0, 1)
  const limit = intParam(ctx, 'limit', ctx.options.readLimitDefault, 1, ctx.options.readLimitMax)
  const maxBytes = intParam(ctx, 'maxBytes', ctx.options.pageBytesDefault, 1, ctx.options.pageBytesMax)
  const partition = await ctx.store.partition(id)
  const last = partition.lastLsn
  const page = new PageWriter(maxBytes, ctx.reservePage)
  let next = from === 0 ? partition.firstLsn : from
  // The log reads whole batches (thousands of entries) ahead of its caller, so the page reads
  // in LSN windows sized from the largest record seen: memory stays near the page's bound.
  let window = 1
  let full = false
  while (!full && next <= last && page.count < limit) {
    const to = Math.min(last, next + window - 1, next + (limit - page.count) - 1)
    const before = next
    outer: for await (const batch of partition.readBatches({ fromLsn: next, toLsn: to })) {
      for (const { lsn, payload } of batch) {
        if (!page.add({ lsn, ...bytesField('payload', payload) })) {
          full = true
          break outer
        }
        next = lsn + 1
      }
    }
    if (next === before && !full) break
    window = Math.max(1, Math.min(window * 2, Math.floor(page.room / page.largest)))
  }
  return { text: page.text('records', next <= last ? next : undefined), contentType: jsonType }
}
