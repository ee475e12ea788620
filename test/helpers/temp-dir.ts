/** A fresh directory under the OS temp dir, removed by `cleanup()`. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TempDir {
  path: string
  cleanup(): Promise<void>
}

export async function makeTempDir(prefix = 'cairn-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) }
}

/** Runs `fn` with a fresh temp directory and removes it afterwards. */
export async function withTempDir<T>(fn: (path: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeTempDir(prefix)
  try {
    return await fn(dir.path)
  } finally {
    await dir.cleanup()
  }
}
