/**
 * The one owner of the rules on keys and values (the partition, the server and the CLI all use
 * these), checked before a record is logged (the partition calls `validateStateOps`) so that
 * nothing the state engine cannot store ever reaches the log.
 *
 * Rule: a key is 1 to `keyBytesMax` (65,536) bytes, everywhere, and deleteRange's start and end
 * are keys too. An empty key is refused (`KEY_EMPTY`) rather than stored: the smallest key is
 * [0x00], which is what a range from "the beginning" starts at. Table blocks store lengths as
 * u32, so the real ceiling is far above these.
 */
import { CairnError } from '../io/errors.js'
import type { StateOp } from './types.js'

/** Smallest key, in bytes: the empty key is not a key (the smallest key is [0x00]). */
export const keyBytesMin = 1
/** Largest key, in bytes (64 KiB): keys are copied into block indexes and bloom filters. */
export const keyBytesMax = 64 * 1024
/** Largest value, in bytes (16 MiB): a value is read back as one block. */
export const valueBytesMax = 16 * 1024 * 1024

/**
 * Throws `KEY_EMPTY`, `KEY_TOO_LARGE` or `INVALID_ARGUMENT` unless `key` is a key (1 to
 * `keyBytesMax` bytes).
 *
 * @example
 * validateKey(Buffer.from('user/1')) // ok
 * validateKey(new Uint8Array(0))     // throws CairnError KEY_EMPTY
 */
export function validateKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new CairnError('INVALID_ARGUMENT', 'a key must be a Uint8Array')
  if (key.length < keyBytesMin) {
    throw new CairnError(
      'KEY_EMPTY',
      `a key must be ${keyBytesMin} to ${keyBytesMax.toLocaleString('en-US')} bytes, and this one is empty: give a non-empty key (the smallest key is [0x00]; a range from the first key starts there)`,
      { context: { keyBytes: key.length, keyBytesMin, keyBytesMax } },
    )
  }
  if (key.length > keyBytesMax) {
    throw new CairnError('KEY_TOO_LARGE', `key of ${key.length} bytes is over the limit of ${keyBytesMax} bytes`, {
      context: { keyBytes: key.length, keyBytesMax },
    })
  }
}

/**
 * Throws `VALUE_TOO_LARGE` or `INVALID_ARGUMENT` unless `value` is a value (0 to `valueBytesMax` bytes).
 *
 * @example
 * validateValue(new Uint8Array(0)) // ok: an empty value is a value
 */
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

/**
 * Throws `KEY_EMPTY`, `KEY_TOO_LARGE`, `VALUE_TOO_LARGE` or `INVALID_ARGUMENT` for an op the
 * engine cannot store.
 *
 * @example
 * validateStateOps([{ type: 'deleteRange', start: new Uint8Array([0]), end: Buffer.from('m') }])
 */
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
