/**
 * Exit codes and how errors are shown. 0 ok, 1 failure, 2 usage: a bad argument the user typed
 * (commander's usage errors, a bad partition id or number) is 2, so scripts can tell "you called
 * me wrong" from "it failed".
 */
import { CairnError } from '../io/errors.js'
import { ApiError } from '../wire/index.js'

export const exitOk = 0
export const exitFailure = 1
export const exitUsage = 2

/** Codes that mean the input was wrong, not that the operation failed. */
const usageCodes = new Set(['INVALID_ARGUMENT', 'INVALID_PARTITION_ID', 'INVALID_REQUEST'])

export function exitCodeOf(e: unknown): number {
  if ((e instanceof CairnError || e instanceof ApiError) && usageCodes.has(e.code)) return exitUsage
  return exitFailure
}

/** `error CODE: message` (or a JSON object with `--json`); unknown errors keep their stack. */
export function formatError(e: unknown, json: boolean): string {
  if (e instanceof CairnError || e instanceof ApiError) {
    if (json) {
      const context = e instanceof CairnError ? e.toJSON().context : {}
      return JSON.stringify({ error: { code: e.code, message: e.message, context } })
    }
    return `error ${e.code}: ${e.message}`
  }
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e)
  return json ? JSON.stringify({ error: { code: 'INTERNAL', message: String((e as Error)?.message ?? e) } }) : `error INTERNAL: ${message}`
}
