// Runs s3rver for startS3rver() (s3-servers.ts) in its own process, started with
// --openssl-legacy-provider: s3rver makes ListObjectsV2 continuation tokens with DES, which
// OpenSSL 3 (Node >= 17) refuses otherwise, so every truncated listing would be a 500.
// Prints {"port":N} once listening; exits when its stdin closes (its parent stopped or died).
import S3rver from 's3rver'

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
