/**
 * A child process of the two-process compare-and-swap test (test/objectstore/fs): opens the
 * file:// store at argv[2] on the real disk and, for each line `{"round":n,"etag":"..."}` on
 * stdin, makes `racers` concurrent ifMatch puts of argv[3] with that etag, answering
 * `{"round":n,"won":[i...]}` on stdout. Exits when stdin closes.
 */
import { createInterface } from 'node:readline'
import { isCairnError } from '../../src/io/index.js'
import { FileObjectStore } from '../../src/objectstore/index.js'

const [dir, key, name, racersArg] = process.argv.slice(2)
const racers = Number(racersArg ?? 2)
const store = await FileObjectStore.open(dir!)
const lines = createInterface({ input: process.stdin })
process.stdout.write('ready\n')
for await (const line of lines) {
  const { round, etag } = JSON.parse(line) as { round: number; etag: string }
  const results = await Promise.allSettled(
    Array.from({ length: racers }, (_, i) => store.put(key!, new TextEncoder().encode(`round ${round} by ${name}.${i}`), { condition: { ifMatch: etag } })),
  )
  const won: number[] = []
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') won.push(i)
    else if (!isCairnError(r.reason, 'PRECONDITION_FAILED')) {
      process.stderr.write(`unexpected: ${String(r.reason)}\n`)
      process.exit(2)
    }
  })
  process.stdout.write(`${JSON.stringify({ round, won })}\n`)
}
await store.close()
