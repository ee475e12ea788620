/**
 * Key and value limits checked at the edge, before a write creates a partition, so a refused
 * request writes nothing. They mirror the state engine's limits (src/state/limits.ts), which
 * still check every write; the stricter of the two wins.
 */
import { CairnError } from '../io/errors.js'
import type { StateOp } from '../state/index.js'

export const keyBytesMax = 64 * 1024
export const valueBytesMax = 16 * 1024 * 1024

export function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw new CairnError('INVALID_ARGUMENT', 'a key must not be empty')
  if (key.length > keyBytesMax) {
    throw new CairnError('KEY_TOO_LARGE', `key of ${key.length} bytes is over the limit of ${keyBytesMax} bytes`, {
      context: { keyBytes: key.length, keyBytesMax },
    })
  }
}

export function checkValue(value: Uint8Array): void {
  if (value.length > valueBytesMax) {
    throw new CairnError('VALUE_TOO_LARGE', `value of ${value.length} bytes is over the limit of ${valueBytesMax} bytes`, {
      context: { valueBytes: value.length, valueBytesMax },
    })
  }
}

export function checkOp(op: StateOp): void {
  if (op.type === 'deleteRange') {
    checkKey(op.start)
    checkKey(op.end)
    return
  }
  checkKey(op.key)
  if (op.type === 'put') checkValue(op.value)
}
