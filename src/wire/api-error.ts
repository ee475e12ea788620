/**
 * Errors only the faces raise (bad JSON, unknown route, missing key...): they live here, not in
 * src/io/errors.ts, because the engine never raises them. Each code has its HTTP status, which
 * the server answers with and the CLI ignores (it has exit codes).
 */
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
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'FORBIDDEN_ORIGIN'
  | 'FORBIDDEN_HOST'
  | 'SERVER_BUSY'
  | 'PARTITION_LIMIT'
  | 'TOO_MANY_OPEN_FILES'
  | 'REQUEST_TIMEOUT'
  | 'CLIENT_ABORTED'
  | 'INVALID_TEXT'
  | 'EXPECTATION_FAILED'
  | 'HEADERS_TOO_LARGE'
  | 'UNSUPPORTED_TRANSFER_ENCODING'
  | 'INGEST_NOT_FOUND'

/**
 * An error with a code the engine does not define; carries its own HTTP status.
 *
 * @example
 * throw new ApiError('KEY_NOT_FOUND', `no key "a" in partition p1`) // the server answers 404; the CLI exits 1
 */
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
  UNSUPPORTED_MEDIA_TYPE: 415,
  FORBIDDEN_ORIGIN: 403,
  FORBIDDEN_HOST: 403,
  SERVER_BUSY: 503,
  PARTITION_LIMIT: 409,
  TOO_MANY_OPEN_FILES: 503,
  REQUEST_TIMEOUT: 408,
  // nginx's "client closed request": never sent (the client is gone), only counted.
  CLIENT_ABORTED: 499,
  INVALID_TEXT: 400,
  EXPECTATION_FAILED: 417,
  HEADERS_TOO_LARGE: 431,
  UNSUPPORTED_TRANSFER_ENCODING: 501,
  // No ingester runs in this server, or the partition has no ingest status (cairn ingest status).
  INGEST_NOT_FOUND: 404,
}

