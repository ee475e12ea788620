/**
 * Compare-and-swap across processes on the real disk: two child processes, each racing two
 * ifMatch puts with the same etag, round after round: exactly one of the four wins each round.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { FileObjectStore } from '../../../src/objectstore/index.js'
import { withTempDir } from '../../helpers/temp-dir.js'

const racer = fileURLToPath(new URL('../../helpers/file-store-racer.ts', import.meta.url))
const rounds = 25

interface Racer {
  child: ChildProcess
  lines: Interface
  next(): Promise<string>
}

function startRacer(dir: string, name: string): Racer {
  const child = spawn(process.execPath, ['--import', 'tsx', racer, dir, 'p/latest.json', name, '2'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const queue: string[] = []
  const waiting: ((line: string) => void)[] = []
  lines.on('line', (line) => {
    const w = waiting.shift()
    if (w !== undefined) w(line)
    else queue.push(line)
  })
  const exited = new Promise<string>((_, reject) => child.once('exit', (code) => reject(new Error(`racer ${name} exited with ${code}`))))
  exited.catch(() => undefined)
  return {
    child,
    lines,
    next: () => Promise.race([queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise<string>((resolve) => waiting.push(resolve)), exited]),
  }
}

test('two processes racing ifMatch puts on one key: exactly one put wins each round', async () => {
  await withTempDir(async (dir) => {
    const store = await FileObjectStore.open(dir)
    await store.put('p/latest.json', new TextEncoder().encode('round 0'))
    const racers = [startRacer(dir, 'a'), startRacer(dir, 'b')]
    try {
      for (const r of racers) assert.equal(await r.next(), 'ready')
      for (let round = 1; round <= rounds; round++) {
        const { etag } = (await store.head('p/latest.json'))!
        for (const r of racers) r.child.stdin!.write(`${JSON.stringify({ round, etag })}\n`)
        const answers = await Promise.all(racers.map(async (r) => JSON.parse(await r.next()) as { round: number; won: number[] }))
        const winners = answers.flatMap((a, i) => a.won.map((w) => `${['a', 'b'][i]}.${w}`))
        assert.equal(winners.length, 1, `round ${round}: winners ${winners.join(', ') || 'none'}`)
        assert.equal(new TextDecoder().decode((await store.get('p/latest.json')).bytes), `round ${round} by ${winners[0]}`)
      }
    } finally {
      for (const r of racers) r.child.stdin!.end()
      await Promise.all(racers.map((r) => new Promise((resolve) => (r.child.exitCode !== null ? resolve(undefined) : r.child.once('exit', resolve)))))
      await store.close()
    }
  }, 'cairn-objectstore-race-')
})
