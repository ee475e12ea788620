/**
 * The S3 store through the real AWS SDK against s3rver, for wire compatibility with an S3
 * implementation we did not write. s3rver ignores If-None-Match/If-Match, so the conditional
 * cases are replaced by the probe, which must report them unenforced.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type ObjectStore, openObjectStore, type S3ObjectStore } from '../../../src/objectstore/index.js'
import { patternBytes, runObjectStoreConformance } from '../../helpers/object-store-conformance.js'
import { type S3rverServer, startS3rver } from '../../helpers/s3-servers.js'

let server: S3rverServer
let store: ObjectStore
before(async () => {
  server = await startS3rver()
  store = await openObjectStore(server.url)
})
after(async () => {
  await store.close()
  await server.stop()
})

runObjectStoreConformance('S3ObjectStore on s3rver', async () => ({ store, cleanup: async () => {} }), { conditionalWrites: false, listsLikeS3rver: true })

test('a put above the multipart threshold goes up in parts and reads back whole', async () => {
  const partBytes = 5 * 1024 * 1024
  const multipart = (await openObjectStore(server.url, { s3: { multipartThresholdBytes: partBytes, partBytes } })) as S3ObjectStore
  const commands: string[] = []
  multipart.client.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? '?')
      return next(args)
    },
    { step: 'initialize' },
  )
  try {
    const body = patternBytes(partBytes * 2 + 12345, 3)
    const { etag } = await multipart.put('multipart/big.bin', body)
    assert.deepEqual(commands.sort(), [
      'CompleteMultipartUploadCommand',
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
    ])
    await multipart.put('multipart/conditional.bin', body.subarray(0, partBytes + 1), { condition: { ifNoneMatch: '*' } })
    assert.equal(commands.at(-1), 'PutObjectCommand', 'a conditional put is never multipart')
    const got = await multipart.get('multipart/big.bin')
    assert.equal(got.size, body.length)
    assert.ok(Buffer.from(got.bytes).equals(Buffer.from(body)))
    assert.equal(got.etag, etag)
  } finally {
    await multipart.close()
  }
})
