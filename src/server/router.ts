/**
 * A tiny router: routes are `/v1/partitions/:p/records`-style patterns matched segment by
 * segment on the raw (still percent-encoded) path, so an encoded `/` (`a%2Fb`) stays inside one
 * segment and reaches partition-id validation instead of changing the route.
 */
import { ApiError } from '../wire/index.js'

export interface Match<H> {
  handler: H
  /** The route pattern, a bounded label for metrics. */
  route: string
  params: Record<string, string>
}

interface Route<H> {
  method: string
  pattern: string
  segments: string[]
  handler: H
}

export class Router<H> {
  readonly #routes: Route<H>[] = []

  add(method: string, pattern: string, handler: H): this {
    this.#routes.push({ method, pattern, segments: pattern.split('/').slice(1), handler })
    return this
  }

  /** The matching route; NOT_FOUND or METHOD_NOT_ALLOWED (with `allow`) otherwise. */
  match(method: string, path: string): Match<H> {
    const parts = path.split('/').slice(1)
    const allowed: string[] = []
    for (const r of this.#routes) {
      const params = matchSegments(r.segments, parts)
      if (params === undefined) continue
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { handler: r.handler, route: r.pattern, params }
      allowed.push(r.method)
    }
    if (allowed.length > 0) {
      throw new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed here: use ${allowed.join(', ')}`, {
        allow: allowed.join(', '),
      })
    }
    throw new ApiError('NOT_FOUND', `no route for ${method} ${path.slice(0, 200)}: see the README's HTTP API`)
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!
    const part = parts[i]!
    if (p.startsWith(':')) {
      if (part === '') return undefined
      params[p.slice(1)] = part
    } else if (p !== part) {
      return undefined
    }
  }
  return params
}

/** Decodes one path segment; a malformed escape is the caller's `code`, not a crash. */
export function decodeSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw)
  } catch {
    return undefined
  }
}
