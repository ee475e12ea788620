/**
 * Where an object store is, parsed from its URL (`--repo URL`):
 * - `file:///abs/dir`, `file://rel/dir` or a plain path: a folder on the local file system;
 * - `s3://bucket/prefix?endpoint=URL&region=R&forcePathStyle=true|false`: a bucket, keys under
 *   `prefix/`; parameters absent here come from the environment when the store is opened;
 * - `memory://name`: objects in this process (tests).
 * Unknown schemes and parameters are `INVALID_ARGUMENT`, so a typo never silently picks a default.
 */
import { fileURLToPath } from 'node:url'
import { CairnError } from '../io/errors.js'

export type ObjectStoreLocation =
  | { kind: 'file'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle?: boolean }
  | { kind: 'memory'; name: string }

/** The query parameters an `s3://` URL may carry. */
export const s3UrlParameters = ['endpoint', 'region', 'forcePathStyle'] as const

function invalid(url: string, why: string, cause?: unknown): CairnError {
  return new CairnError(
    'INVALID_ARGUMENT',
    `object store URL ${JSON.stringify(url)}: ${why} (use file:///dir, s3://bucket/prefix?endpoint=...&region=...&forcePathStyle=true, or memory://name)`,
    { context: { url }, ...(cause !== undefined && { cause }) },
  )
}

/**
 * Parses an object store URL.
 *
 * @example
 * parseObjectStoreUrl('s3://backups/cairn?region=eu-west-1')
 * // { kind: 's3', bucket: 'backups', prefix: 'cairn/', region: 'eu-west-1' }
 */
export function parseObjectStoreUrl(url: string): ObjectStoreLocation {
  if (typeof url !== 'string' || url.length === 0) throw invalid(String(url), 'it is empty')
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase()
  if (scheme === undefined) {
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url) && !/^[a-zA-Z]:[\\/]/.test(url)) throw invalid(url, 'unknown scheme')
    return { kind: 'file', dir: url }
  }
  if (scheme === 'file') return { kind: 'file', dir: fileDirOf(url) }
  if (scheme === 'memory') {
    const name = url.slice('memory://'.length)
    if (name.length === 0) throw invalid(url, 'memory:// needs a name')
    return { kind: 'memory', name }
  }
  if (scheme === 's3') return parseS3Url(url)
  throw invalid(url, `unknown scheme ${scheme}://`)
}

function fileDirOf(url: string): string {
  const rest = url.slice('file://'.length)
  if (rest.length === 0) throw invalid(url, 'file:// needs a folder')
  if (rest.startsWith('/') || rest.startsWith('localhost/')) {
    try {
      return fileURLToPath(url)
    } catch (e) {
      throw invalid(url, 'not a file URL', e)
    }
  }
  // file://relative/dir: a path relative to the working folder, as users write it.
  return rest
}

function parseS3Url(url: string): ObjectStoreLocation {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (e) {
    throw invalid(url, 'not a URL', e)
  }
  const bucket = parsed.hostname
  if (bucket.length === 0) throw invalid(url, 's3:// needs a bucket')
  if (parsed.username !== '' || parsed.password !== '') throw invalid(url, 'credentials do not belong in the URL: use the AWS environment or profile')
  if (parsed.port !== '') throw invalid(url, 'a bucket has no port: put the server in ?endpoint=')
  let prefix = decodeURIComponent(parsed.pathname.replace(/^\/+/, ''))
  if (prefix.length > 0 && !prefix.endsWith('/')) prefix += '/'
  if (prefix.includes('//')) throw invalid(url, 'the prefix has an empty segment')
  const location: ObjectStoreLocation & { kind: 's3' } = { kind: 's3', bucket, prefix }
  for (const [name, value] of parsed.searchParams) {
    if (name === 'endpoint') {
      try {
        new URL(value)
      } catch (e) {
        throw invalid(url, `endpoint ${JSON.stringify(value)} is not a URL`, e)
      }
      location.endpoint = value
    } else if (name === 'region') {
      if (value.length === 0) throw invalid(url, 'region is empty')
      location.region = value
    } else if (name === 'forcePathStyle') {
      if (value !== 'true' && value !== 'false') throw invalid(url, 'forcePathStyle must be true or false')
      location.forcePathStyle = value === 'true'
    } else {
      throw invalid(url, `unknown parameter ${name} (known: ${s3UrlParameters.join(', ')})`)
    }
  }
  return location
}
