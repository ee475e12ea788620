/**
 * What an S3 failure means to cairn: 412 PreconditionFailed and 409 ConditionalRequestConflict
 * (a concurrent conditional write) on a conditional put are `PRECONDITION_FAILED`; 404 of the key
 * is `OBJECT_NOT_FOUND`; everything else (no bucket, denied, a wrong endpoint, a timeout after the
 * bounded retries) is `OBJECT_STORE_ERROR` with the S3 error as cause and a message saying what
 * to check.
 */
import { CairnError } from '../../io/errors.js'
import type { PutCondition } from '../object-store.js'
import { objectNotFound, preconditionFailed } from '../object-store-errors.js'

interface AwsErrorShape {
  name?: string
  Code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  $response?: { statusCode?: number }
}

export function s3StatusOf(e: unknown): number | undefined {
  const err = e as AwsErrorShape | undefined
  return err?.$metadata?.httpStatusCode ?? err?.$response?.statusCode
}

export function s3CodeOf(e: unknown): string | undefined {
  const err = e as AwsErrorShape | undefined
  return err?.Code ?? err?.name
}

/** A 404 about the key (not about the bucket). */
export function isS3NotFound(e: unknown): boolean {
  const code = s3CodeOf(e)
  if (code === 'NoSuchBucket') return false
  return code === 'NoSuchKey' || code === 'NotFound' || s3StatusOf(e) === 404
}

export function isS3PreconditionFailed(e: unknown): boolean {
  const code = s3CodeOf(e)
  const status = s3StatusOf(e)
  return code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || status === 412 || status === 409
}

export function isS3InvalidRange(e: unknown): boolean {
  return s3CodeOf(e) === 'InvalidRange' || s3StatusOf(e) === 416
}

/** The `CairnError` for a failed S3 call. */
export function s3Error(e: unknown, url: string, operation: string, key: string, condition?: PutCondition): CairnError {
  if (condition !== undefined && isS3PreconditionFailed(e)) return preconditionFailed(url, key, condition, e)
  // If-Match on a missing key: AWS answers 404 NoSuchKey; to cairn that is a lost race too.
  if (condition !== undefined && 'ifMatch' in condition && isS3NotFound(e)) return preconditionFailed(url, key, condition, e)
  if (operation === 'get' && isS3NotFound(e)) return objectNotFound(url, key, e)
  const status = s3StatusOf(e)
  const code = s3CodeOf(e) ?? 'unknown'
  const detail = (e as AwsErrorShape | undefined)?.message ?? String(e)
  const hint =
    code === 'NoSuchBucket'
      ? 'create the bucket, or fix its name in the URL'
      : status === 403 || code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'CredentialsProviderError'
        ? 'check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket policy'
        : status === 301 || code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed'
          ? 'check the region (?region= or AWS_REGION)'
          : 'check the endpoint (?endpoint= or AWS_ENDPOINT_URL_S3), the region, the network and the credentials, then retry'
  return new CairnError('OBJECT_STORE_ERROR', `S3 ${operation} of ${key} in ${url} failed (${code}${status === undefined ? '' : `, HTTP ${status}`}: ${detail}): ${hint}`, {
    context: { url, key, operation, status, awsCode: code },
    cause: e,
  })
}
