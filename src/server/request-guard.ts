/**
 * Checks that keep a server on a developer's machine safe from web pages in a local browser:
 * the `Host` header must name this server (DNS rebinding sends the attacker's name), a
 * cross-origin request is refused unless its origin is allowed (`--cors-origin`), and a body
 * must declare the media type the route reads (a page can send `text/plain` without a
 * preflight, never `application/json`).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { ApiError } from '../wire/index.js'

export interface GuardOptions {
  /** Origins (`scheme://host[:port]`) allowed to call cross-origin; `*` allows any. */
  corsOrigins: string[]
  /** Host names accepted in `Host` besides the bound address and the machine's own names. */
  allowedHosts: string[]
}

/** The host part of a `Host` header (or an origin's authority), lower case, without port or brackets. */
function hostOf(authority: string): string {
  const a = authority.trim().toLowerCase()
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']') === -1 ? undefined : a.indexOf(']'))
  const colon = a.indexOf(':')
  // More than one colon and no brackets: a bare IPv6 address.
  if (colon !== -1 && a.indexOf(':', colon + 1) === -1) return a.slice(0, colon)
  return a
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

export function isLoopbackBind(host: string): boolean {
  return isLoopback(hostOf(host))
}

/** A checker for the `Host` header of a server bound to `boundHost`. */
export function hostChecker(boundHost: string, allowed: string[]): (host: string | undefined) => void {
  const bound = hostOf(boundHost)
  const wildcard = bound === '0.0.0.0' || bound === '::' || bound === ''
  const names = new Set([bound, 'localhost', ...allowed.map(hostOf)])
  if (!isLoopback(bound)) names.add(hostname().toLowerCase())
  return (header) => {
    // HTTP/1.0 may omit Host; the server checks HTTP/1.1 requests for it separately.
    if (header === undefined) return
    const host = hostOf(header)
    if (names.has(host)) return
    if (isLoopback(bound) && isLoopback(host)) return
    if (wildcard && isIP(host) !== 0) return
    throw new ApiError(
      'FORBIDDEN_HOST',
      `Host ${JSON.stringify(host.slice(0, 100))} does not name this server: use its address, or start it with --allowed-host ${host.slice(0, 100)}`,
      { connection: 'close' },
    )
  }
}

/** CORS headers for a request whose origin is allowed; throws FORBIDDEN_ORIGIN for any other cross-origin request. */
export function checkOrigin(headers: IncomingHttpHeaders, corsOrigins: string[]): Record<string, string> {
  const origin = headers.origin
  if (origin === undefined) return {}
  if (corsOrigins.includes('*') || corsOrigins.includes(origin)) return { 'access-control-allow-origin': origin, vary: 'origin' }
  // Same origin: the page was served from this very authority.
  let authority: string | undefined
  try {
    authority = new URL(origin).host
  } catch {
    authority = undefined
  }
  if (authority !== undefined && headers.host !== undefined && authority === headers.host.toLowerCase()) return {}
  throw new ApiError('FORBIDDEN_ORIGIN', `cross-origin requests from ${JSON.stringify(origin.slice(0, 100))} are refused: start the server with --cors-origin ${origin.slice(0, 100)} to allow them`)
}

/** Answer headers for a CORS preflight from an allowed origin. */
export function preflightHeaders(headers: IncomingHttpHeaders, corsOrigins: string[]): Record<string, string> {
  const allowed = checkOrigin(headers, corsOrigins)
  return {
    ...allowed,
    'access-control-allow-methods': 'GET, HEAD, POST, PUT, DELETE',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-max-age': '600',
  }
}

/**
 * `Transfer-Encoding` may only be `chunked`: Node removes the chunking but would hand the handler
 * the bytes of any other coding (gzip...) as if they were the body, and store them.
 */
export function checkTransferEncoding(headers: IncomingHttpHeaders): void {
  const coding = headers['transfer-encoding']
  if (coding === undefined || coding.trim().toLowerCase() === 'chunked') return
  throw new ApiError(
    'UNSUPPORTED_TRANSFER_ENCODING',
    `Transfer-Encoding ${JSON.stringify(coding.slice(0, 40))} is not supported: send the body plain, with Content-Length or Transfer-Encoding: chunked only`,
  )
}

/** The body's media type must be `expected`; no content coding (gzip...) is accepted. */
export function checkBodyType(req: IncomingMessage, expected: 'application/json' | 'application/octet-stream'): void {
  const encoding = req.headers['content-encoding']
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not accepted: send the body uncompressed`)
  }
  const header = req.headers['content-type'] ?? ''
  const [type = '', ...params] = header.split(';').map((p) => p.trim().toLowerCase())
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '')
  if (type !== expected || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `this route reads ${expected} (got ${JSON.stringify(header.slice(0, 60) || 'no Content-Type')}): send Content-Type: ${expected}`)
  }
}
