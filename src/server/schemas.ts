/** Request bodies, validated with zod before anything reaches the store. */
import { z } from 'zod'
import { base64Pattern, fromBase64, utf8 } from './bytes-json.js'

const base64 = z.string().regex(base64Pattern, 'must be base64')

/** `{ payload }` (UTF-8 text) or `{ payloadBase64 }` (any bytes), exactly one of them. */
const record = z.union([
  z.strictObject({ payload: z.string() }),
  z.strictObject({ payloadBase64: base64 }),
])

export const appendBody = z.strictObject({
  records: z.array(record).min(1, 'records must hold at least one record'),
})

export function recordBytes(r: z.infer<typeof record>): Uint8Array {
  return 'payload' in r ? utf8(r.payload) : fromBase64(r.payloadBase64)
}

/** A key as `key` or `keyBase64` (and the same for value, start, end). */
function bytesOf<N extends string>(name: N) {
  return z.union([
    z.object({ [name]: z.string() } as Record<N, z.ZodString>),
    z.object({ [`${name}Base64`]: base64 } as Record<`${N}Base64`, z.ZodString>),
  ])
}

const putOp = z.object({ type: z.literal('put') }).and(bytesOf('key')).and(bytesOf('value'))
const deleteOp = z.object({ type: z.literal('delete') }).and(bytesOf('key'))
const deleteRangeOp = z.object({ type: z.literal('deleteRange') }).and(bytesOf('start')).and(bytesOf('end'))

export const batchBody = z.strictObject({
  ops: z.array(z.union([putOp, deleteOp, deleteRangeOp])).min(1, 'ops must hold at least one op'),
})

export type BatchOpJson = z.infer<typeof batchBody>['ops'][number]

/** Reads field `name` or `nameBase64` of a validated op. */
export function opBytes(op: Record<string, unknown>, name: string): Uint8Array {
  const text = op[name]
  if (typeof text === 'string') return utf8(text)
  return fromBase64(op[`${name}Base64`] as string)
}
