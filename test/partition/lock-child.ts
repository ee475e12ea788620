// Child of store-lock.test.ts: prints `ready`, waits for `go` on stdin, opens the store and
// prints `won` or the error code. A winner holds the store until stdin ends. argv: dataDir
import { createInterface } from 'node:readline'
import { Store } from '../../src/partition/index.js'

const [dir] = process.argv.slice(2)
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
process.stdout.write('ready\n')
await lines.next()
let store: Store | undefined
try {
  store = await Store.open(dir!)
  process.stdout.write('won\n')
} catch (e) {
  process.stdout.write(`${(e as { code?: string }).code ?? String(e)}\n`)
}
if (store !== undefined) {
  while (!(await lines.next()).done) {}
  await store.close()
}
process.exit(0)
