import { ApiError } from '../wire/index.js'

/**
 * The query string, strictly decoded: a malformed escape or one that is not UTF-8 is refused
 * (URLSearchParams would turn it into U+FFFD and, say, move a scan bound). `+` is a space.
 */
export function parseQuery(query: string): URLSearchParams {
  const params = new URLSearchParams()
  if (query === '') return params
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = eq === -1 ? part : part.slice(0, eq)
    const value = eq === -1 ? '' : part.slice(eq + 1)
    try {
      params.append(decodeURIComponent(name.replace(/\+/g, ' ')), decodeURIComponent(value.replace(/\+/g, ' ')))
    } catch {
      throw new ApiError('INVALID_TEXT', `query parameter ${JSON.stringify(name.slice(0, 40))} is not valid percent-encoded UTF-8: give bytes as <name>Base64 (e.g. gteBase64=)`)
    }
  }
  return params
}
