/**
 * Errors as HTTP answers: one table maps every engine code to a status (ApiError carries its
 * own), so handlers only throw.
 */
import type { ServerResponse } from 'node:http'
import { CairnError, type ErrorCode } from '../io/errors.js'
import { ApiError } from '../wire/index.js'
import { errorMessageCharsMax } from './server-limits.js'

/**
 * HTTP status of each engine code. Typed against `ErrorCode`, so a new code cannot be added
 * without deciding what a client should make of it: 4xx for its input, 409 for a conflict it can
 * resolve, 503 to retry, 500 only for the server's own failure.
 */
export const cairnErrorStatus: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_PARTITION_ID: 400,
  INVALID_CONFIG: 400,
  KEY_EMPTY: 400,
  RECORD_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  KEY_TOO_LARGE: 413,
  VALUE_TOO_LARGE: 413,
  PARTITION_NOT_FOUND: 404,
  STORE_NOT_FOUND: 404,
  PARTITION_EXISTS: 409,
  LSN_MISMATCH: 409,
  LOG_SEALED: 409,
  TARGET_NOT_EMPTY: 409,
  READ_ONLY: 409,
  STALE_PARTITION: 409,
  TRIM_GAP: 409,
  IS_CHECKPOINT: 409,
  PRECONDITION_FAILED: 412,
  CONDITIONAL_WRITES_UNSUPPORTED: 409,
  REPOSITORY_FENCED: 409,
  SOURCE_TABLE_UNSUPPORTED: 409,
  SOURCE_MISCONFIGURED: 409,
  SOURCE_SLOT_LOST: 409,
  OBJECT_NOT_FOUND: 404,
  SNAPSHOT_NOT_FOUND: 404,
  OBJECT_STORE_ERROR: 502,
  SOURCE_UNAVAILABLE: 502,
  SOURCE_PROTOCOL: 502,
  CORRUPT_SNAPSHOT: 502,
  CORRUPT_CHECKPOINT: 500,
  LSN_TRIMMED: 410,
  LSN_OUT_OF_RANGE: 416,
  STORE_LOCKED: 503,
  CLOSED: 503,
  LOG_FAILED: 503,
  WRITES_PAUSED: 503,
  STORE_BUSY: 503,
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

/** Errno codes that mean "out of descriptors": the process or the system table is full. */
const descriptorErrnos = new Set(['EMFILE', 'ENFILE'])

/**
 * Status and JSON body for any thrown value; unknown errors are 500 INTERNAL without details.
 * `dataDir` (the store's absolute path) is cut out of every message and context value, so no
 * answer reveals where the server keeps its files.
 */
export function toErrorResponse(e: unknown, dataDir?: string): { status: number; body: ErrorBody; headers: Record<string, string> } {
  const answer = errorResponse(e, dataDir)
  answer.body.error.message = cutMessage(answer.body.error.message)
  return answer
}

/** A message of at most `errorMessageCharsMax` characters (a zod message can list a million keys). */
export function cutMessage(message: string): string {
  if (message.length <= errorMessageCharsMax) return message
  const suffix = '... (cut)'
  return message.slice(0, errorMessageCharsMax - suffix.length) + suffix
}

function errorResponse(e: unknown, dataDir?: string): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (e instanceof ApiError) return { status: e.status, body: { error: { code: e.code, message: e.message } }, headers: e.headers }
  const errno = errnoOf(e)
  if (errno !== undefined && descriptorErrnos.has(errno)) {
    const busy = new ApiError('TOO_MANY_OPEN_FILES', 'the server is out of file descriptors: retry shortly; raise its descriptor limit (ulimit -n) or lower --max-partitions', {
      'retry-after': '1',
    })
    return toErrorResponse(busy)
  }
  if (e instanceof CairnError) {
    const { code, message, context } = e.toJSON()
    const body: ErrorBody = { error: { code, message: redact(message, dataDir) } }
    const kept: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(context)) kept[k] = typeof v === 'string' ? redact(v, dataDir) : v
    if (Object.keys(kept).length > 0) body.error.context = kept
    return { status: cairnErrorStatus[code] ?? 500, body, headers: {} }
  }
  // Not a typed error: a bug. Never leak its message (it may hold paths or data).
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error: see the server log' } }, headers: {} }
}

/** The errno code of an error or of the error it wraps (IoError keeps it in `context.errno`). */
function errnoOf(e: unknown): string | undefined {
  if (e instanceof CairnError) return typeof e.context.errno === 'string' ? e.context.errno : errnoOf(e.cause)
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** Replaces the data directory with `<data>`: paths inside the store stay readable, the server's layout does not leak. */
function redact(text: string, dataDir: string | undefined): string {
  if (dataDir === undefined || dataDir === '' || dataDir === '/') return text
  return text.split(dataDir).join('<data>')
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
