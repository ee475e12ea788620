/**
 * The `s3://bucket/prefix` object store, on `@aws-sdk/client-s3`: key K is the S3 key `prefix + K`.
 *
 * Invariants:
 * - conditional puts are one PutObject with `If-None-Match: *` or `If-Match: "etag"`: the
 *   server decides atomically (AWS S3 does; some compatible servers ignore the headers, which
 *   `probeConditionalWrites` detects). They are never multipart;
 * - an unconditional put above `multipartThresholdBytes` goes up in parts (`lib-storage`'s
 *   `Upload`, which aborts the upload on failure); S3 shows the object only once completed;
 * - etags are S3's, without quotes, everywhere (get, head, list, put);
 * - credentials come from the standard AWS chain unless given; the SDK retries at most
 *   `s3AttemptsMax` times; every failure is mapped by s3-errors.ts.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { assert } from '../../io/assert.js'
import { CairnError } from '../../io/errors.js'
import { clampByteRange, validateByteRange } from '../byte-range.js'
import { listLimitOf } from '../list-options.js'
import { validateListPrefix, validateObjectKey } from '../object-key.js'
import type { GetOptions, ListedObject, ListOptions, ListPage, ObjectBody, ObjectInfo, ObjectStore, PutOptions } from '../object-store.js'
import { objectNotFound } from '../object-store-errors.js'
import { isS3InvalidRange, isS3NotFound, s3Error } from './s3-errors.js'

/** Attempts per request, the first included (the SDK's `maxAttempts`). */
export const s3AttemptsMax = 3
/** Unconditional puts larger than this go up as a multipart upload. */
export const multipartThresholdBytes = 16 * 1024 * 1024
/** Part size of multipart uploads (S3's minimum is 5 MiB). */
export const multipartPartBytes = 8 * 1024 * 1024
/** Parts uploaded at once by one multipart upload. */
export const multipartPartsInFlightMax = 4
/** The region when neither the URL nor the environment names one. */
export const s3DefaultRegion = 'us-east-1'
/** A request that sends or receives nothing for this long fails (then is retried). */
export const s3RequestIdleMsMax = 60_000
/** Connecting to the endpoint. */
export const s3ConnectMsMax = 10_000
/** Empty truncated pages (possible in S3 listings) followed in one `list` call, at most. */
const emptyPagesMax = 100

export interface S3ObjectStoreOptions {
  bucket: string
  /** Every key lives under it; empty or ending in `/`. */
  prefix?: string
  endpoint?: string
  region?: string
  forcePathStyle?: boolean
  /** Only when given; otherwise the standard AWS chain (environment, profile, SSO, instance role). */
  credentials?: S3ClientConfig['credentials']
  maxAttempts?: number
  multipartThresholdBytes?: number
  partBytes?: number
}

/**
 * @example
 * const store = new S3ObjectStore({ bucket: 'backups', prefix: 'cairn/', region: 'eu-west-1' })
 * const { etag } = await store.put('partitions/p1/latest.json', bytes, { condition: { ifNoneMatch: '*' } })
 * await store.close()
 */
export class S3ObjectStore implements ObjectStore {
  readonly url: string
  readonly bucket: string
  readonly prefix: string
  readonly client: S3Client
  readonly #multipartThresholdBytes: number
  readonly #partBytes: number
  #closed = false

  constructor(options: S3ObjectStoreOptions) {
    const prefix = options.prefix ?? ''
    assert(prefix === '' || prefix.endsWith('/'), `an S3 prefix is empty or ends with /, got ${prefix}`)
    this.bucket = options.bucket
    this.prefix = prefix
    this.url = `s3://${options.bucket}/${prefix}${options.endpoint === undefined ? '' : `?endpoint=${options.endpoint}`}`
    this.#multipartThresholdBytes = options.multipartThresholdBytes ?? multipartThresholdBytes
    this.#partBytes = options.partBytes ?? multipartPartBytes
    this.client = new S3Client({
      region: options.region ?? s3DefaultRegion,
      ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials !== undefined && { credentials: options.credentials }),
      maxAttempts: options.maxAttempts ?? s3AttemptsMax,
      // Since SDK 3.729 the client adds CRC checksums to every PUT; many S3-compatible servers refuse them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: s3RequestIdleMsMax, connectionTimeout: s3ConnectMsMax },
    })
  }

  async get(key: string, options: GetOptions = {}): Promise<ObjectBody> {
    this.#check(key)
    if (options.range !== undefined) validateByteRange(options.range, this.url, key)
    // From 0 to the end is the whole object: no Range header (s3rver answers an empty object's
    // `bytes=0-` with a length it never sends).
    const range = options.range?.start === 0 && options.range.end === undefined ? undefined : options.range
    // S3 has no empty range: read the object's facts instead.
    if (range !== undefined && range.end !== undefined && range.end === range.start) return this.#emptyRead(key)
    const header = range === undefined ? undefined : `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}`
    let out: GetObjectCommandOutput
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, ...(header !== undefined && { Range: header }) }))
    } catch (e) {
      // A range starting at or past the end: S3 answers 416; the contract says an empty read.
      if (range !== undefined && isS3InvalidRange(e)) return this.#emptyRead(key)
      throw s3Error(e, this.url, 'get', key)
    }
    let bytes: Uint8Array
    try {
      bytes = out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray()
    } catch (e) {
      throw s3Error(e, this.url, 'get', key)
    }
    const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1]
    if (range !== undefined && total === undefined) {
      // A server that ignores Range sends the whole object (200): cut the range out here.
      const { start, end } = clampByteRange(range, bytes.length)
      return { bytes: bytes.slice(start, end), etag: bareEtag(out.ETag), size: bytes.length, lastModified: out.LastModified ?? new Date(0) }
    }
    const size = total !== undefined ? Number(total) : (out.ContentLength ?? bytes.length)
    return { bytes, etag: bareEtag(out.ETag), size, lastModified: out.LastModified ?? new Date(0) }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.#check(key)
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
      return { key, size: out.ContentLength ?? 0, etag: bareEtag(out.ETag), lastModified: out.LastModified ?? new Date(0) }
    } catch (e) {
      if (isS3NotFound(e)) return undefined
      throw s3Error(e, this.url, 'head', key)
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    this.#check(key)
    const condition = options.condition
    const params = { Bucket: this.bucket, Key: this.prefix + key, Body: body }
    try {
      if (condition === undefined && body.length > this.#multipartThresholdBytes) {
        const upload = new Upload({ client: this.client, params, partSize: this.#partBytes, queueSize: multipartPartsInFlightMax })
        const out = await upload.done()
        return { etag: bareEtag((out as { ETag?: string }).ETag) }
      }
      const out = await this.client.send(
        new PutObjectCommand({
          ...params,
          ...(condition !== undefined && ('ifNoneMatch' in condition ? { IfNoneMatch: '*' } : { IfMatch: `"${condition.ifMatch}"` })),
        }),
      )
      return { etag: bareEtag(out.ETag) }
    } catch (e) {
      throw s3Error(e, this.url, 'put', key, condition)
    }
  }

  async delete(key: string): Promise<void> {
    this.#check(key)
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
    } catch (e) {
      if (isS3NotFound(e)) return
      throw s3Error(e, this.url, 'delete', key)
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    this.#checkOpen()
    validateListPrefix(prefix, this.url)
    const limit = listLimitOf(options, this.url)
    let token: string | undefined
    for (let page = 0; page < emptyPagesMax; page++) {
      let out: ListObjectsV2CommandOutput
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: limit,
            ...(token !== undefined ? { ContinuationToken: token } : options.startAfter !== undefined && { StartAfter: this.prefix + options.startAfter }),
          }),
        )
      } catch (e) {
        throw s3Error(e, this.url, 'list', prefix)
      }
      const objects: ListedObject[] = (out.Contents ?? []).map((o) => ({
        key: (o.Key ?? '').slice(this.prefix.length),
        size: o.Size ?? 0,
        etag: bareEtag(o.ETag),
        lastModified: o.LastModified ?? new Date(0),
      }))
      if (objects.length > 0 || out.IsTruncated !== true || out.NextContinuationToken === undefined) {
        return out.IsTruncated === true && objects.length > 0 ? { objects, next: objects[objects.length - 1]!.key } : { objects }
      }
      token = out.NextContinuationToken
    }
    throw new CairnError('OBJECT_STORE_ERROR', `S3 list of ${prefix} in ${this.url} returned ${emptyPagesMax} empty truncated pages: check the server`, {
      context: { url: this.url, prefix },
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.client.destroy()
  }

  async #emptyRead(key: string): Promise<ObjectBody> {
    const info = await this.head(key)
    if (info === undefined) throw objectNotFound(this.url, key)
    return { bytes: new Uint8Array(0), etag: info.etag, size: info.size, lastModified: info.lastModified }
  }

  #check(key: string): void {
    this.#checkOpen()
    validateObjectKey(key, this.url)
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `object store ${this.url} is closed`, { context: { url: this.url } })
  }
}

/** S3 quotes etags (`"abc"`, `W/"abc"` from some proxies); cairn never does. */
export function bareEtag(etag: string | undefined): string {
  if (etag === undefined) return ''
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1')
}
