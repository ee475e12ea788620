/**
 * Size limits on keys and values, checked before a record is logged (the partition calls
 * `validateStateOps`) so that nothing the state engine cannot store ever reaches the log.
 * Table blocks store lengths as u32, so the real ceiling is far above these.
 */
import { CairnError } from '../io/errors.js'
import type { StateOp } from './types.js'

/** Largest key, in bytes (64 KiB): keys are copied into block indexes and bloom filters. */
export const keyBytesMax = 64 * 1024
/** Largest value, in bytes (16 MiB): a value is read back as one block. */
export const valueBytesMax = 16 * 1024 * 1024

export function validateKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new CairnError('INVALID_ARGUMENT', 'a key must be a Uint8Array')
  if (key.length > keyBytesMax) {
    throw new CairnError('KEY_TOO_LARGE', `key of ${key.length} bytes is over the limit of ${keyBytesMax} bytes`, {
      context: { keyBytes: key.length, keyBytesMax },
    })
  }
}

export function validateValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new CairnError('INVALID_ARGUMENT', 'a value must be a Uint8Array')
  if (value.length > valueBytesMax) {
    throw new CairnError(
      'VALUE_TOO_LARGE',
      `value of ${value.length} bytes is over the limit of ${valueBytesMax} bytes`,
      { context: { valueBytes: value.length, valueBytesMax } },
    )
  }
}

/** Throws `KEY_TOO_LARGE`, `VALUE_TOO_LARGE` or `INVALID_ARGUMENT` for an op the engine cannot store. */
export function validateStateOps(ops: readonly StateOp[]): void {
  for (const op of ops) {
    switch (op.type) {
      case 'put':
        validateKey(op.key)
        validateValue(op.value)
        break
      case 'delete':
        validateKey(op.key)
        break
      case 'deleteRange':
        validateKey(op.start)
        validateKey(op.end)
        break
      default:
        throw new CairnError('INVALID_ARGUMENT', `unknown state op type ${String((op as { type: unknown }).type)}`)
    }
  }
}
