import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCairnError } from '../../../src/io/index.js'
import { bareEtag, parseObjectStoreUrl, s3OptionsOf } from '../../../src/objectstore/index.js'
import { s3Error } from '../../../src/objectstore/s3/s3-errors.js'

const s3 = (url: string) => {
  const location = parseObjectStoreUrl(url)
  assert.equal(location.kind, 's3')
  return location as typeof location & { kind: 's3' }
}

test('S3 settings: URL parameters first, then AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL and AWS_REGION/AWS_DEFAULT_REGION, then us-east-1', () => {
  assert.deepEqual(s3OptionsOf(s3('s3://b/p'), {}), { bucket: 'b', prefix: 'p/', region: 'us-east-1', forcePathStyle: false })
  assert.deepEqual(s3OptionsOf(s3('s3://b/p'), { AWS_DEFAULT_REGION: 'eu-west-3', AWS_ENDPOINT_URL: 'http://generic:1' }), {
    bucket: 'b',
    prefix: 'p/',
    endpoint: 'http://generic:1',
    region: 'eu-west-3',
    forcePathStyle: true,
  })
  assert.deepEqual(
    s3OptionsOf(s3('s3://b/p'), { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-3', AWS_ENDPOINT_URL_S3: 'http://s3only:2', AWS_ENDPOINT_URL: 'http://generic:1' }),
    { bucket: 'b', prefix: 'p/', endpoint: 'http://s3only:2', region: 'eu-west-1', forcePathStyle: true },
  )
  assert.deepEqual(
    s3OptionsOf(s3('s3://b/p?endpoint=http://url:3&region=ap-south-1&forcePathStyle=false'), { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_S3: 'http://env:2' }),
    { bucket: 'b', prefix: 'p/', endpoint: 'http://url:3', region: 'ap-south-1', forcePathStyle: false },
  )
  assert.equal(s3OptionsOf(s3('s3://b/p'), { AWS_REGION: '' }).region, 'us-east-1', 'an empty variable is unset')
})

test('etags lose their quotes (and a weak marker) whatever S3 sends', () => {
  assert.equal(bareEtag('"abc"'), 'abc')
  assert.equal(bareEtag('abc'), 'abc')
  assert.equal(bareEtag('W/"abc-2"'), 'abc-2')
})

test('S3 failures map to stable codes: 412 and 409 on a conditional put, 404 on get and on ifMatch, the rest OBJECT_STORE_ERROR', () => {
  const aws = (name: string, status: number) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } })
  const url = 's3://b/p/'
  assert.equal(s3Error(aws('PreconditionFailed', 412), url, 'put', 'k', { ifMatch: 'e' }).code, 'PRECONDITION_FAILED')
  assert.equal(s3Error(aws('ConditionalRequestConflict', 409), url, 'put', 'k', { ifNoneMatch: '*' }).code, 'PRECONDITION_FAILED')
  assert.equal(s3Error(aws('NoSuchKey', 404), url, 'put', 'k', { ifMatch: 'e' }).code, 'PRECONDITION_FAILED')
  assert.equal(s3Error(aws('NoSuchKey', 404), url, 'get', 'k').code, 'OBJECT_NOT_FOUND')
  const noBucket = s3Error(aws('NoSuchBucket', 404), url, 'get', 'k')
  assert.ok(isCairnError(noBucket, 'OBJECT_STORE_ERROR') && /create the bucket/.test(noBucket.message))
  const denied = s3Error(aws('AccessDenied', 403), url, 'put', 'k')
  assert.ok(isCairnError(denied, 'OBJECT_STORE_ERROR') && /credentials/.test(denied.message) && denied.context.status === 403)
  const refused = s3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), url, 'list', 'p/')
  assert.ok(isCairnError(refused, 'OBJECT_STORE_ERROR') && /endpoint/.test(refused.message) && refused.cause !== undefined)
  assert.equal(s3Error(aws('PreconditionFailed', 412), url, 'put', 'k').code, 'OBJECT_STORE_ERROR', 'an unconditional put has no precondition to fail')
})
