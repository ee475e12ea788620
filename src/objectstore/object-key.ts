/**
 * Object keys: what every store accepts, and the one order `list` returns them in.
 *
 * Invariants:
 * - a valid key is 1 to `objectKeyBytesMax` bytes of UTF-8, `/`-separated segments, none empty,
 *   none `.` or `..`, no control characters: so it maps to a file path under a `file://`
 *   store's folder without escaping it, and to an S3 key unchanged;
 * - keys are ordered by their UTF-8 bytes (S3's order), not by JavaScript's UTF-16 order, which
 *   differs for characters beyond U+FFFF.
 */
import { CairnError } from '../io/errors.js'

/** S3's limit on a key's length, in UTF-8 bytes. */
export const objectKeyBytesMax = 1024

const encoder = new TextEncoder()

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const controlCharacters = /[\u0000-\u001f\u007f]/

// With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
const loneSurrogate = /[\ud800-\udfff]/u

/** Why `key` is not a valid object key, or `undefined` when it is. */
export function objectKeyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'a key must not be empty'
  const bytes = encoder.encode(key).length
  if (bytes > objectKeyBytesMax) return `a key is at most ${objectKeyBytesMax} bytes of UTF-8 (this one has ${bytes})`
  if (controlCharacters.test(key)) return 'a key must not contain control characters'
  if (key.startsWith('/')) return 'a key must not start with /'
  for (const segment of key.split('/')) {
    if (segment.length === 0) return 'a key must not have an empty segment (// or a trailing /)'
    if (segment === '.' || segment === '..') return 'a key must not have a . or .. segment'
  }
  if (loneSurrogate.test(key)) return 'a key must be well-formed Unicode (no lone surrogates)'
  return undefined
}

/** Throws `INVALID_ARGUMENT` unless `key` is a valid object key. */
export function validateObjectKey(key: string, url: string): void {
  const problem = objectKeyProblem(key)
  if (problem !== undefined) {
    throw new CairnError('INVALID_ARGUMENT', `invalid object key ${JSON.stringify(key)} in ${url}: ${problem}`, {
      context: { key: String(key), url },
    })
  }
}

/**
 * Throws `INVALID_ARGUMENT` unless `prefix` could begin a key: empty, or without control
 * characters, a leading `/` or an empty segment before its last `/`.
 */
export function validateListPrefix(prefix: string, url: string): void {
  if (typeof prefix !== 'string') throw new CairnError('INVALID_ARGUMENT', `a list prefix must be a string (${url})`, { context: { url } })
  if (prefix.length === 0) return
  // A prefix is a key, or a key followed by `/`, or the start of a key's last segment.
  const asKey = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  const problem = asKey.length === 0 ? 'a prefix must not be /' : objectKeyProblem(asKey.endsWith('.') ? `${asKey}x` : asKey)
  if (problem !== undefined) {
    throw new CairnError('INVALID_ARGUMENT', `invalid list prefix ${JSON.stringify(prefix)} in ${url}: ${problem.replace('a key', 'a prefix')}`, {
      context: { prefix, url },
    })
  }
}

/** Compares keys by their UTF-8 bytes (S3's list order). */
export function compareObjectKeys(a: string, b: string): number {
  if (a === b) return 0
  // Fast path: equal up to a difference in the BMP below the surrogates, where UTF-16 order is byte order.
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    if (x < 0xd800 && y < 0xd800) return x - y
    return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)))
  }
  return a.length - b.length
}
