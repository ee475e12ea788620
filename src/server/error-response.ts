/**
 * Errors as HTTP answers: one table maps every code to a status, so handlers only throw.
 * Codes that only the server and CLI know (bad JSON, unknown route...) live here, not in
 * src/io/errors.ts, because the engine never raises them.
 */
import type { ServerResponse } from 'node:http'
import { CairnError } from '../io/errors.js'

/** Codes raised by the HTTP and CLI layers only. */
export type ApiErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BODY_TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'KEY_NOT_FOUND'
  | 'SHUTTING_DOWN'
  | 'INTERNAL'

/** An error with a code the engine does not define; carries its own HTTP status. */
export class ApiError extends Error {
  override name = 'ApiError'
  readonly code: ApiErrorCode
  readonly status: number
  readonly headers: Record<string, string>

  constructor(code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.code = code
    this.status = apiStatus[code]
    this.headers = headers
  }
}

const apiStatus: Record<ApiErrorCode, number> = {
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  KEY_NOT_FOUND: 404,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
}

/** HTTP status of each engine code; anything not listed is a 500. */
export const cairnErrorStatus: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_PARTITION_ID: 400,
  INVALID_CONFIG: 400,
  RECORD_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  KEY_TOO_LARGE: 413,
  VALUE_TOO_LARGE: 413,
  PARTITION_NOT_FOUND: 404,
  PARTITION_EXISTS: 409,
  LSN_TRIMMED: 410,
  LSN_OUT_OF_RANGE: 416,
  STORE_LOCKED: 503,
  CLOSED: 503,
  LOG_FAILED: 503,
  REDUCER_FAILED: 500,
  CORRUPT_LOG: 500,
  CORRUPT_CATALOG: 500,
  CORRUPT_TABLE: 500,
  CORRUPT_MANIFEST: 500,
  UNSUPPORTED_FORMAT: 500,
  IO_ERROR: 500,
}

export interface ErrorBody {
  error: { code: string; message: string; context?: Record<string, unknown> }
}

/** Status and JSON body for any thrown value; unknown errors are 500 INTERNAL without details. */
export function toErrorResponse(e: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (e instanceof ApiError) return { status: e.status, body: { error: { code: e.code, message: e.message } }, headers: e.headers }
  if (e instanceof CairnError) {
    const { code, message, context } = e.toJSON()
    const body: ErrorBody = { error: { code, message } }
    if (Object.keys(context).length > 0) body.error.context = context
    return { status: cairnErrorStatus[code] ?? 500, body, headers: {} }
  }
  // Not a typed error: a bug. Never leak its message (it may hold paths or data).
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error: see the server log' } }, headers: {} }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}
