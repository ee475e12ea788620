/**
 * The faces check keys and values before they open or create anything, so a refused request
 * writes nothing. The rules themselves are the state layer's (`validateKey`, `validateValue`,
 * `validateStateOps`): this file only adds the empty-key check that `validateKey` is gaining
 * (a key is 1 to 65,536 bytes; empty is KEY_EMPTY). Once `validateKey` refuses an empty key,
 * `checkKey` is `validateKey` and `checkOps` is `validateStateOps`.
 */
import { CairnError } from '../io/errors.js'
import { type StateOp, validateKey, validateStateOps } from '../partition/index.js'

/**
 * Throws KEY_EMPTY for an empty key, KEY_TOO_LARGE past 64 KiB.
 *
 * @example
 * checkKey(utf8(keyText)) // before the store is opened
 */
export function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw new CairnError('KEY_EMPTY', 'a key must not be empty: give at least one byte (the smallest key is 0x00)')
  validateKey(key)
}

/**
 * Throws for the first op the engine would refuse (an empty or oversized key or range bound, an
 * oversized value).
 *
 * @example
 * checkOps([{ type: 'deleteRange', start, end }])
 */
export function checkOps(ops: readonly StateOp[]): void {
  for (const op of ops) {
    if (op.type === 'deleteRange') {
      checkKey(op.start)
      checkKey(op.end)
    } else checkKey(op.key)
  }
  validateStateOps(ops)
}
