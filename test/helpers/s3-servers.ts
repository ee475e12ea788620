/**
 * S3 servers for tests, one per test file (start in `before`, stop in `after`):
 * - `startS3rver()`: s3rver (npm) in a child process and a temp folder, for wire compatibility with a real S3
 *   implementation. It ignores If-None-Match/If-Match on PUT: never use it for races.
 * - `startCasS3Server()`: the small server in cas-s3-server.ts that enforces them atomically.
 * Both return the `s3://` URL for `openObjectStore`. Credentials: any; `useTestS3Credentials()`
 * sets dummy ones in this process's environment (the SDK's default chain would otherwise look
 * for an instance role), and `s3TestEnv` is the same for child processes.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { makeTempDir } from './temp-dir.js'

export { type CasS3Server, type CasS3ServerOptions, startCasS3Server } from './cas-s3-server.js'

/** Credentials s3rver accepts (it checks signatures); the CAS server accepts anything. */
export const s3TestEnv = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const

/** Sets `s3TestEnv` in `process.env` where no credentials are set. */
export function useTestS3Credentials(): void {
  if (process.env.AWS_ACCESS_KEY_ID === undefined && process.env.AWS_PROFILE === undefined) Object.assign(process.env, s3TestEnv)
}

export interface S3rverServer {
  url: string
  endpoint: string
  bucket: string
  stop(): Promise<void>
}

const s3rverScript = fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url))

/**
 * Starts s3rver in a child process (see s3rver-process.mjs for why) on a random port, in a
 * fresh temp folder, with one bucket.
 *
 * @example
 * const server = await startS3rver()
 * const store = await openObjectStore(server.url)
 * await server.stop()
 */
export async function startS3rver(options: { bucket?: string; prefix?: string } = {}): Promise<S3rverServer> {
  useTestS3Credentials()
  const bucket = options.bucket ?? 'bucket'
  const dir = await makeTempDir('cairn-s3rver-')
  const child = spawn(process.execPath, [s3rverScript, dir.path, bucket], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let port: number
  try {
    const lines = createInterface({ input: child.stdout! })
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      exited.then(() => {
        throw new Error('s3rver exited before listening (run with S3RVER_DEBUG=1 to see why)')
      }),
    ])
    lines.close()
    port = (JSON.parse(first) as { port: number }).port
  } catch (e) {
    child.kill('SIGKILL')
    await dir.cleanup()
    throw e
  }
  const endpoint = `http://127.0.0.1:${port}`
  return {
    url: `s3://${bucket}/${options.prefix ?? 'cairn'}?endpoint=${endpoint}&region=us-east-1&forcePathStyle=true`,
    endpoint,
    bucket,
    async stop() {
      child.stdin!.end()
      await exited
      await dir.cleanup()
    },
  }
}
