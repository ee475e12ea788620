/**
 * The errors every object store throws, built in one place so that each implementation says the
 * same thing with the same code and context: `OBJECT_NOT_FOUND`, `PRECONDITION_FAILED`,
 * `INVALID_ARGUMENT`.
 */
import { CairnError } from '../io/errors.js'
import type { PutCondition } from './object-store.js'

export function objectNotFound(url: string, key: string, cause?: unknown): CairnError {
  return new CairnError('OBJECT_NOT_FOUND', `object ${key} not found in ${url}: check the key and that the store is the one you meant`, {
    context: { url, key },
    ...(cause !== undefined && { cause }),
  })
}

export function describeCondition(condition: PutCondition): string {
  return 'ifNoneMatch' in condition ? 'if-none-match: *' : `if-match: ${condition.ifMatch}`
}

export function preconditionFailed(url: string, key: string, condition: PutCondition, cause?: unknown): CairnError {
  const why =
    'ifNoneMatch' in condition
      ? 'the object already exists'
      : `the object is missing or changed since etag ${condition.ifMatch} was read`
  return new CairnError('PRECONDITION_FAILED', `put of ${key} in ${url} not done (${describeCondition(condition)}): ${why}; read it again and retry`, {
    context: { url, key, condition: describeCondition(condition) },
    ...(cause !== undefined && { cause }),
  })
}

export function invalidArgument(url: string, message: string, context: Record<string, string | number | undefined> = {}): CairnError {
  return new CairnError('INVALID_ARGUMENT', `${message} (${url})`, { context: { url, ...context } })
}
