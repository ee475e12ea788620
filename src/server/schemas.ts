/**
 * Request bodies, validated with zod before anything reaches the store. Unknown fields are
 * refused everywhere; text fields must be well-formed UTF-16 (a lone surrogate would become
 * U+FFFD on encoding, so two different keys could silently become one).
 */
import { z } from 'zod'
import { ApiError, base64Pattern, fromBase64, utf8 } from '../wire/index.js'

const base64 = z.string().regex(base64Pattern, 'must be base64')

/** `{ payload }` (UTF-8 text) or `{ payloadBase64 }` (any bytes), exactly one of them. */
const record = z.union([
  z.strictObject({ payload: z.string() }),
  z.strictObject({ payloadBase64: base64 }),
])

export const appendBody = z.strictObject({
  records: z.array(record).min(1, 'records must hold at least one record'),
})

/** Text as UTF-8 bytes; INVALID_TEXT for a string holding a lone surrogate. */
export function textBytes(text: string, what: string): Uint8Array {
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    throw new ApiError('INVALID_TEXT', `${what} holds a lone UTF-16 surrogate, which has no UTF-8 form: send the bytes as ${what}Base64`)
  }
  return utf8(text)
}

export function recordBytes(r: z.infer<typeof record>): Uint8Array {
  return 'payload' in r ? textBytes(r.payload, 'payload') : fromBase64(r.payloadBase64)
}

/** The byte fields each op type takes, each as `name` or `nameBase64`, exactly one of them. */
const opFields = { put: ['key', 'value'], delete: ['key'], deleteRange: ['start', 'end'] } as const

const op = z
  .strictObject({
    type: z.enum(['put', 'delete', 'deleteRange']),
    key: z.string().optional(),
    keyBase64: base64.optional(),
    value: z.string().optional(),
    valueBase64: base64.optional(),
    start: z.string().optional(),
    startBase64: base64.optional(),
    end: z.string().optional(),
    endBase64: base64.optional(),
  })
  .superRefine((o, ctx) => {
    const wanted: readonly string[] = opFields[o.type]
    for (const name of ['key', 'value', 'start', 'end']) {
      const given = [name, `${name}Base64`].filter((f) => (o as Record<string, unknown>)[f] !== undefined)
      if (wanted.includes(name) && given.length !== 1) {
        ctx.addIssue({ code: 'custom', message: `a ${o.type} op takes exactly one of ${name} and ${name}Base64` })
      } else if (!wanted.includes(name) && given.length > 0) {
        ctx.addIssue({ code: 'custom', message: `a ${o.type} op takes no ${given.join(' or ')}` })
      }
    }
  })

export const batchBody = z.strictObject({
  ops: z.array(op).min(1, 'ops must hold at least one op'),
})

export type BatchOpJson = z.infer<typeof batchBody>['ops'][number]

/** Reads field `name` or `nameBase64` of a validated op. */
export function opBytes(op: Record<string, unknown>, name: string): Uint8Array {
  const text = op[name]
  if (typeof text === 'string') return textBytes(text, name)
  return fromBase64(op[`${name}Base64`] as string)
}
