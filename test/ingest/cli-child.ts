/** A running `cairn ingest postgres` child process, for the CLI and kill tests. */
import { type ChildProcess, spawn } from 'node:child_process'
import { cliArgs, repoRoot } from '../helpers/cli-helpers.js'

export interface IngestChild {
  child: ChildProcess
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function spawnIngest(args: string[], env: NodeJS.ProcessEnv = {}): IngestChild {
  const child = spawn(process.execPath, [...cliArgs, 'ingest', 'postgres', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c) => {
    stderr += c
  })
  child.stdout!.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  return { child, stderr: () => stderr, exited }
}
