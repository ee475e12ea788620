/**
 * Errors as data. Every failure cairn reports to a user is a `CairnError` with a stable `code`
 * (part of the public API: never renamed), a message that says what to do, context fields, and
 * the underlying `cause` where there is one.
 */

export type ErrorCode =
  // usage and input
  | 'INVALID_ARGUMENT'
  | 'INVALID_PARTITION_ID'
  | 'INVALID_CONFIG'
  | 'RECORD_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'PARTITION_NOT_FOUND'
  | 'PARTITION_EXISTS'
  | 'LSN_TRIMMED'
  | 'LSN_OUT_OF_RANGE'
  | 'LSN_MISMATCH'
  | 'KEY_EMPTY'
  // state of the engine
  | 'STORE_LOCKED'
  | 'STORE_NOT_FOUND'
  | 'STORE_BUSY'
  | 'CLOSED'
  | 'LOG_FAILED'
  | 'LOG_SEALED'
  | 'WRITES_PAUSED'
  | 'TARGET_NOT_EMPTY'
  | 'READ_ONLY'
  | 'REDUCER_FAILED'
  | 'STALE_PARTITION'
  | 'TRIM_GAP'
  | 'IS_CHECKPOINT'
  // object stores and snapshot repositories
  | 'OBJECT_NOT_FOUND'
  | 'PRECONDITION_FAILED'
  | 'CONDITIONAL_WRITES_UNSUPPORTED'
  | 'REPOSITORY_FENCED'
  | 'SNAPSHOT_NOT_FOUND'
  | 'OBJECT_STORE_ERROR'
  // sources (Postgres ingest)
  | 'SOURCE_MISCONFIGURED'
  | 'SOURCE_UNAVAILABLE'
  | 'SOURCE_SLOT_LOST'
  | 'SOURCE_TABLE_UNSUPPORTED'
  | 'SOURCE_PROTOCOL'
  // data on disk
  | 'CORRUPT_LOG'
  | 'CORRUPT_CATALOG'
  | 'CORRUPT_TABLE'
  | 'CORRUPT_MANIFEST'
  | 'CORRUPT_SNAPSHOT'
  | 'CORRUPT_CHECKPOINT'
  | 'UNSUPPORTED_FORMAT'
  // the operating system
  | 'IO_ERROR'

export type ErrorContext = Record<string, string | number | bigint | boolean | undefined>

export interface CairnErrorOptions {
  context?: ErrorContext
  cause?: unknown
}

/**
 * The one error type cairn throws for anything but programmer errors (which are assertions).
 *
 * @example
 * try { await store.partition('orders') } catch (e) {
 *   if (e instanceof CairnError && e.code === 'PARTITION_NOT_FOUND') { ... }
 * }
 */
export class CairnError extends Error {
  override name = 'CairnError'
  readonly code: ErrorCode
  readonly context: ErrorContext

  constructor(code: ErrorCode, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.context = options.context ?? {}
  }

  toJSON(): { code: ErrorCode; message: string; context: Record<string, unknown> } {
    const context: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(this.context)) {
      if (v !== undefined) context[k] = typeof v === 'bigint' ? v.toString() : v
    }
    return { code: this.code, message: this.message, context }
  }
}

/**
 * Damage found in bytes read back from disk or an object store (`CORRUPT_*` codes): the data is
 * not trusted, never guessed at; the message names the file and what to restore.
 *
 * @example
 * try { await Store.open('./data') } catch (e) {
 *   if (e instanceof CorruptionError) console.error(e.code, e.context.path, e.message)
 * }
 */
export class CorruptionError extends CairnError {
  override name = 'CorruptionError'
}

/**
 * Wraps an operating-system error so callers see one family with a code (`IO_ERROR`); the
 * operation, path and errno are in `context`, the original error in `cause`.
 *
 * @example
 * try { await p.put('k', 'v') } catch (e) {
 *   if (e instanceof IoError) console.error(e.context.operation, e.context.errno)
 * }
 */
export class IoError extends CairnError {
  override name = 'IoError'
  constructor(operation: string, path: string, cause: unknown) {
    const sys = errnoIn(cause) ?? 'unknown'
    super('IO_ERROR', `${operation} ${path} failed (${sys}): check the disk, its free space and permissions, then retry`, {
      context: { operation, path, errno: sys },
      cause,
    })
  }
}

/**
 * Runs one file-system step, reporting its failure as an `IoError` naming the operation and path.
 *
 * @example
 * await withIoError('sync directory', dir, () => fs.syncDir(dir))
 */
export async function withIoError<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    throw new IoError(operation, path, e)
  }
}

/** The system error code (`EIO`, `EMFILE` ...) of an error or of the first error it wraps that has one. */
function errnoIn(e: unknown): string | undefined {
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    if (e instanceof CairnError) {
      const errno = e.context.errno
      return typeof errno === 'string' && errno !== 'unknown' ? errno : errnoIn(e.cause)
    }
    const code = (e as NodeJS.ErrnoException).code
    if (typeof code === 'string') return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * Whether `e` is a `CairnError`, and (when given) one with that `code`.
 *
 * @example
 * try { await store.createPartition('orders') } catch (e) {
 *   if (!isCairnError(e, 'PARTITION_EXISTS')) throw e
 * }
 */
export function isCairnError(e: unknown, code?: ErrorCode): e is CairnError {
  return e instanceof CairnError && (code === undefined || e.code === code)
}

/** True for a file-system error that means "no such file or directory". */
export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

export function isAlreadyExists(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EEXIST'
}
