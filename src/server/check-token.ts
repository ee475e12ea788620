/** Bearer-token check in constant time (hashing first makes lengths equal, so length leaks nothing). */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { ApiError } from '../wire/index.js'

const digest = (text: string) => createHash('sha256').update(text).digest()

/** Returns a checker for `token`; it throws UNAUTHORIZED unless the request carries it. */
export function tokenChecker(token: string): (headers: IncomingHttpHeaders) => void {
  const expected = digest(token)
  return (headers) => {
    const header = headers.authorization ?? ''
    const match = /^Bearer (.+)$/i.exec(header)
    const ok = match !== null && timingSafeEqual(digest(match[1]!), expected)
    if (!ok) {
      throw new ApiError('UNAUTHORIZED', 'missing or wrong bearer token: send Authorization: Bearer <token>', {
        'www-authenticate': 'Bearer realm="cairn"',
      })
    }
  }
}
