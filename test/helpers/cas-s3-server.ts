/**
 * A small S3-compatible server on node:http that enforces conditional puts, for compare-and-swap
 * races through the real AWS SDK (s3rver ignores If-None-Match and If-Match).
 *
 * What it speaks (path-style only, enough for `S3ObjectStore`): CreateBucket, PutObject with
 * `If-None-Match: *` / `If-Match: "etag"`, GetObject with `Range: bytes=a-b`, HeadObject,
 * DeleteObject, ListObjectsV2 (prefix, start-after, max-keys, continuation-token). Signatures
 * are accepted unverified. Anything else is 501 NotImplemented.
 *
 * Invariant: a put's body is read whole first; then its precondition check and its write are one
 * synchronous step on the map (no await between them), so of racing conditional puts exactly the
 * ones S3 would accept succeed. Etags are the MD5 of the body, hex, quoted on the wire (as S3).
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

interface StoredObject {
  bytes: Buffer
  etag: string
  lastModified: Date
}

export interface CasS3Server {
  /** The `s3://` URL of a prefix in its bucket, with the endpoint, region and path style set. */
  url: string
  endpoint: string
  bucket: string
  /** Requests served, by S3 operation (PutObject, GetObject, ...). */
  requests: Record<string, number>
  stop(): Promise<void>
}

export interface CasS3ServerOptions {
  bucket?: string
  /** The key prefix in the returned URL (default `cairn`). */
  prefix?: string
  /** Answer every GET with the whole object, as some S3-compatible servers do with Range. */
  ignoreRanges?: boolean
}

const xmlEscape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function sendError(res: ServerResponse, status: number, code: string, message: string, head = false): void {
  res.statusCode = status
  if (head) {
    res.end()
    return
  }
  res.setHeader('Content-Type', 'application/xml')
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`)
}

function objectHeaders(res: ServerResponse, object: StoredObject): void {
  res.setHeader('ETag', `"${object.etag}"`)
  res.setHeader('Last-Modified', object.lastModified.toUTCString())
  res.setHeader('Content-Type', 'application/octet-stream')
  res.setHeader('Accept-Ranges', 'bytes')
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/**
 * Starts the server on a random port of 127.0.0.1 with one bucket.
 *
 * @example
 * const server = await startCasS3Server()
 * const store = await openObjectStore(server.url)
 * await server.stop()
 */
export async function startCasS3Server(options: CasS3ServerOptions = {}): Promise<CasS3Server> {
  const bucket = options.bucket ?? 'bucket'
  const buckets = new Map<string, Map<string, StoredObject>>([[bucket, new Map()]])
  const requests: Record<string, number> = {}
  const count = (op: string): void => {
    requests[op] = (requests[op] ?? 0) + 1
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const parts = url.pathname.split('/')
    const bucketName = decodeURIComponent(parts[1] ?? '')
    const key = parts.slice(2).map(decodeURIComponent).join('/')
    const method = req.method ?? 'GET'
    const head = method === 'HEAD'
    if (bucketName === '') return sendError(res, 501, 'NotImplemented', 'ListBuckets is not implemented')
    if (key === '' && method === 'PUT') {
      count('CreateBucket')
      await readBody(req)
      if (!buckets.has(bucketName)) buckets.set(bucketName, new Map())
      res.statusCode = 200
      res.end()
      return
    }
    const objects = buckets.get(bucketName)
    if (objects === undefined) {
      await readBody(req)
      return sendError(res, 404, 'NoSuchBucket', `bucket ${bucketName} does not exist`, head)
    }
    if (key === '') {
      if (method === 'GET' && url.searchParams.get('list-type') === '2') return listObjects(url, objects, res, count)
      return sendError(res, 501, 'NotImplemented', `${method} on a bucket is not implemented`)
    }
    if (url.searchParams.has('uploads') || url.searchParams.has('uploadId')) {
      await readBody(req)
      return sendError(res, 501, 'NotImplemented', 'multipart uploads are not implemented')
    }
    if (method === 'PUT') {
      count('PutObject')
      const body = await readBody(req)
      if (req.headers['x-amz-copy-source'] !== undefined) return sendError(res, 501, 'NotImplemented', 'CopyObject is not implemented')
      // From here to the set: synchronous, so the check and the write are one step.
      const current = objects.get(key)
      const ifNoneMatch = req.headers['if-none-match']
      const ifMatch = req.headers['if-match']
      if (ifNoneMatch !== undefined) {
        if (ifNoneMatch !== '*') return sendError(res, 501, 'NotImplemented', 'If-None-Match other than * on PUT')
        if (current !== undefined) return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
      }
      if (ifMatch !== undefined) {
        if (current === undefined) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.')
        if (ifMatch.replace(/^"(.*)"$/, '$1') !== current.etag) {
          return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
        }
      }
      const object = { bytes: body, etag: createHash('md5').update(body).digest('hex'), lastModified: new Date() }
      objects.set(key, object)
      res.setHeader('ETag', `"${object.etag}"`)
      res.statusCode = 200
      res.end()
      return
    }
    if (method === 'DELETE') {
      count('DeleteObject')
      await readBody(req)
      objects.delete(key)
      res.statusCode = 204
      res.end()
      return
    }
    if (method === 'GET' || head) {
      count(head ? 'HeadObject' : 'GetObject')
      const object = objects.get(key)
      if (object === undefined) return sendError(res, 404, head ? 'NotFound' : 'NoSuchKey', 'The specified key does not exist.', head)
      const size = object.bytes.length
      const range = head || options.ignoreRanges === true ? undefined : req.headers.range
      objectHeaders(res, object)
      if (range === undefined) {
        res.statusCode = 200
        res.setHeader('Content-Length', size)
        res.end(head ? undefined : object.bytes)
        return
      }
      const m = /^bytes=(\d+)-(\d*)$/.exec(range)
      if (m === null) return sendError(res, 501, 'NotImplemented', `range ${range}`)
      const start = Number(m[1])
      const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
      if (start >= size || end < start) {
        res.removeHeader('ETag')
        return sendError(res, 416, 'InvalidRange', 'The requested range is not satisfiable')
      }
      res.statusCode = 206
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`)
      res.setHeader('Content-Length', end - start + 1)
      res.end(object.bytes.subarray(start, end + 1))
      return
    }
    sendError(res, 501, 'NotImplemented', `${method} is not implemented`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', String(e))
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const endpoint = `http://127.0.0.1:${port}`
  return {
    url: `s3://${bucket}/${options.prefix ?? 'cairn'}?endpoint=${endpoint}&region=us-east-1&forcePathStyle=true`,
    endpoint,
    bucket,
    requests,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((e) => (e === undefined ? resolve() : reject(e)))
      }),
  }
}

function listObjects(url: URL, objects: Map<string, StoredObject>, res: ServerResponse, count: (op: string) => void): void {
  count('ListObjectsV2')
  const prefix = url.searchParams.get('prefix') ?? ''
  const token = url.searchParams.get('continuation-token')
  const after = token !== null ? Buffer.from(token, 'base64url').toString() : (url.searchParams.get('start-after') ?? '')
  const maxKeys = Math.min(Number(url.searchParams.get('max-keys') ?? 1000), 1000)
  const keys = [...objects.keys()]
    .filter((k) => k.startsWith(prefix) && Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const page = keys.slice(0, maxKeys)
  const truncated = keys.length > page.length
  const contents = page
    .map((k) => {
      const o = objects.get(k)!
      return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>&quot;${o.etag}&quot;</ETag><Size>${o.bytes.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`
    })
    .join('')
  const next = truncated ? `<NextContinuationToken>${Buffer.from(page[page.length - 1]!).toString('base64url')}</NextContinuationToken>` : ''
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/xml')
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`,
  )
}
