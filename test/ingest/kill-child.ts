/**
 * The ingester in a child process the kill test SIGKILLs: the library on a real store, tiny
 * chunks. It loads, prints `loaded` and waits for a line on stdin (so the test can start the next
 * child while the current one runs), then prints, with synchronous writes (a kill loses nothing
 * already printed): `ready` before the store opens, `started` once it handles SIGTERM, `chunks N`
 * whenever the count of chunk SELECTs changes, `status JSON` on every progress report, `stopped`
 * after a clean stop on SIGTERM.
 *
 * Every write of the store takes `writeDelayMs` longer: a change is then received well before it
 * is written (a SIGKILL keeps what was written, synced or not), so an ingester that confirmed
 * what it received rather than what is durable would be caught by the kills.
 */
import { writeSync } from 'node:fs'
import { PostgresIngester } from '../../src/ingest/index.js'
import type { FileHandle, FileSystem } from '../../src/io/file-system.js'
import { NodeFileSystem } from '../../src/io/node-file-system.js'
import { Store } from '../../src/partition/index.js'

const [data, url, tables, chunkRows, writeDelayMs] = process.argv.slice(2) as [string, string, string, string, string]
const delay = (): Promise<void> => new Promise((r) => setTimeout(r, Number(writeDelayMs)))

/** The node file system, with slow writes. */
function slowWrites(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, name, receiver) {
      if (name === 'open') {
        return async (path: string, mode: Parameters<FileSystem['open']>[1]) => {
          const handle = await target.open(path, mode)
          return new Proxy(handle, {
            get(h, n, r) {
              if (n === 'write' || n === 'append') {
                const f = (Reflect.get(h, n, r) as (...args: unknown[]) => Promise<unknown>).bind(h)
                return async (...args: unknown[]) => {
                  await delay()
                  return await f(...args)
                }
              }
              const v = Reflect.get(h, n, r) as unknown
              return typeof v === 'function' ? v.bind(h) : v
            },
          }) satisfies FileHandle
        }
      }
      const v = Reflect.get(target, name, receiver) as unknown
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}
const out = (line: string): void => void writeSync(1, `${line}\n`)

out('loaded')
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
out('ready')
const store = await Store.open(data, { fs: slowWrites(new NodeFileSystem()) })
const ingester = await PostgresIngester.start({
  url,
  store,
  tables: tables.split(','),
  chunkRows: Number(chunkRows),
  copyParallelism: 2,
  onProgress: (s) => out(`status ${JSON.stringify(s)}`),
})
let shown = -1
const showChunks = (): void => {
  if (ingester.chunksRead === shown) return
  shown = ingester.chunksRead
  out(`chunks ${shown}`)
}
const timer = setInterval(showChunks, 1)
ingester.done.catch((e: { code?: string; message?: string }) => {
  out(`failed ${e.code} ${e.message}`)
  process.exit(1)
})
process.on('SIGTERM', () => {
  clearInterval(timer)
  showChunks()
  void ingester
    .stop()
    .then(() => store.close())
    .then(() => {
      out('stopped')
      process.exit(0)
    })
})
// Only now: the test sends SIGTERM as soon as it reads this line, and a loaded machine may not run
// this process again before that; printed before the handler, the signal's default action killed
// it (seen: "child exited (SIGTERM) before /^stopped$/", seed 406251198 under load).
out('started')
