/** Copying a log's cut: each file's first `bytes` bytes into a fresh directory, which then opens as a log. */
import assert from 'node:assert/strict'
import { posix } from 'node:path'
import type { FileSystem } from '../../src/io/index.js'
import type { LogCut } from '../../src/log/index.js'

/** Copies the first `bytes` bytes of each file of `cut` into `to` (a fresh directory). */
export async function copyCut(fs: FileSystem, cut: LogCut, to: string, toFs: FileSystem = fs): Promise<void> {
  await toFs.mkdir(to, true)
  for (const file of cut.files) {
    const from = await fs.open(file.path, 'read')
    const bytes = new Uint8Array(file.bytes)
    let n: number
    try {
      n = await from.read(bytes, 0, bytes.length, 0)
    } finally {
      await from.close()
    }
    assert.equal(n, file.bytes, `${file.path} holds at least the cut's ${file.bytes} bytes`)
    const out = await toFs.open(posix.join(to, posix.basename(file.path)), 'createOrTruncate')
    await out.write(bytes, 0)
    await out.sync()
    await out.close()
  }
  await toFs.syncDir(to)
}
