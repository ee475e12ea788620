// Runs s3rver for startS3rver() (s3-servers.ts) in its own process, so that the patch below
// stays out of the test process. s3rver makes ListObjectsV2 continuation tokens with DES, which
// OpenSSL 3 (Node >= 17) refuses without its legacy provider: every truncated listing would be
// a 500. Where DES is missing, its tokens here are the IV followed by the plain text (they are
// opaque to clients, and s3rver only needs to read back what it wrote).
// Prints {"port":N} once listening; exits when its stdin closes (its parent stopped or died).
import crypto from 'node:crypto'
import S3rver from 's3rver'

try {
  crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8))
} catch {
  const plain = () => ({ update: (data, encoding) => Buffer.from(data, encoding), final: () => Buffer.alloc(0) })
  for (const name of ['createCipheriv', 'createDecipheriv']) {
    const original = crypto[name]
    crypto[name] = (algorithm, ...rest) => (algorithm === 'des' ? plain() : original(algorithm, ...rest))
  }
}

const [directory, bucket] = process.argv.slice(2)
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: process.env.S3RVER_DEBUG === undefined,
  directory,
  configureBuckets: [{ name: bucket, configs: [] }],
})
const { port } = await server.run()
process.stdout.write(`${JSON.stringify({ port })}\n`)
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
