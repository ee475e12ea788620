/**
 * The settings of an `s3://` store: from the URL's parameters first, then the standard AWS
 * environment (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_DEFAULT_REGION`),
 * then defaults (region us-east-1; path-style addressing exactly when an endpoint is set, since
 * S3-compatible servers on an address or port rarely resolve bucket subdomains).
 */
import type { ObjectStoreLocation } from '../object-store-url.js'
import { type S3ObjectStoreOptions, s3DefaultRegion } from './s3-object-store.js'

/**
 * @example
 * s3OptionsOf({ kind: 's3', bucket: 'b', prefix: 'p/' }, { AWS_REGION: 'eu-west-1' })
 * // { bucket: 'b', prefix: 'p/', region: 'eu-west-1', forcePathStyle: false }
 */
export function s3OptionsOf(location: ObjectStoreLocation & { kind: 's3' }, env: Record<string, string | undefined>): S3ObjectStoreOptions {
  const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v)
  const endpoint = location.endpoint ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL)
  const region = location.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? s3DefaultRegion
  return {
    bucket: location.bucket,
    prefix: location.prefix,
    ...(endpoint !== undefined && { endpoint }),
    region,
    forcePathStyle: location.forcePathStyle ?? endpoint !== undefined,
  }
}
