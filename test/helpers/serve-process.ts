/** A real `cairn serve` child process on 127.0.0.1 (port 0), for tests that need the CLI's wiring. */
import { type ChildProcess, spawn } from 'node:child_process'
import { cliArgs, repoRoot } from './cli-helpers.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export interface Served {
  tmp: TempDir
  data: string
  url: string
  port: number
  child: ChildProcess
  stderr: () => string
  exited: Promise<number | null>
  /** SIGTERM, wait for exit, remove the temp dir; returns the exit code. */
  stop(): Promise<number | null>
}

export async function startServe(
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; shell?: string; data?: string; tmp?: TempDir } = {},
): Promise<Served> {
  const tmp = options.tmp ?? (await makeTempDir('cairn-serve-'))
  const data = options.data ?? `${tmp.path}/store`
  const argv = [...cliArgs, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', data, ...args]
  // `shell` (e.g. "ulimit -n 128") runs before exec, in the same process.
  const child =
    options.shell === undefined
      ? spawn(process.execPath, argv, { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `${options.shell} && exec "$0" "$@"`, process.execPath, ...argv], {
          cwd: repoRoot,
          env: { ...process.env, ...options.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c) => {
      stderr += c
      const m = /"url":"(http:\/\/[^"]+)"/.exec(stderr)
      if (m) resolve(m[1]!)
    })
    child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)))
  })
  return {
    tmp,
    data,
    url,
    port: Number(new URL(url).port),
    child,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const code = await exited
      await tmp.cleanup()
      return code
    },
  }
}
