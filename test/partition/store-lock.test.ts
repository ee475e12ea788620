import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, test } from 'node:test'
import { CairnError, FaultFileSystem, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code
const childPath = new URL('./lock-child.ts', import.meta.url).pathname

/** A child process running lock-child.ts, with its stdout as a queue of lines. */
class Child {
  readonly proc: ChildProcess
  readonly #lines: AsyncIterator<string>
  constructor(dir: string) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', childPath, dir], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.#lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]()
  }
  async line(): Promise<string> {
    const next = await this.#lines.next()
    assert.ok(!next.done, 'child ended early')
    return next.value
  }
  go(): void {
    this.proc.stdin!.write('go\n')
  }
  exited(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => this.proc.once('exit', () => resolve()))
  }
  async end(): Promise<void> {
    this.proc.stdin!.end()
    await this.exited()
  }
}

async function settle<T>(opens: Promise<T>[]): Promise<{ won: T[]; codes: string[] }> {
  const won: T[] = []
  const codes: string[] = []
  for (const r of await Promise.allSettled(opens)) {
    if (r.status === 'fulfilled') won.push(r.value)
    else codes.push((r.reason as CairnError).code)
  }
  return { won, codes }
}

/** `fs` with its OS lock hidden, as on a file system that has none. */
function withoutOsLock(fs: FaultFileSystem): FaultFileSystem {
  Object.defineProperty(fs, 'lockExclusive', { value: undefined })
  return fs
}

describe('StoreLock', () => {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-store-lock-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test('two opens at once in one process on a real directory: exactly one wins', async () => {
    const root = join(dir, 'same-process')
    for (let round = 0; round < 20; round++) {
      const { won, codes } = await settle([Store.open(root), Store.open(root), Store.open(root)])
      assert.equal(won.length, 1, `round ${round}: ${won.length} opens succeeded`)
      assert.deepEqual(codes, ['STORE_LOCKED', 'STORE_LOCKED'])
      await won[0]!.close()
    }
  })

  test('two opens at once in one process on a MemoryFileSystem: exactly one wins', async () => {
    const fs = new MemoryFileSystem()
    for (let round = 0; round < 5; round++) {
      const { won, codes } = await settle([Store.open('/data', { fs }), Store.open('/data', { fs })])
      assert.equal(won.length, 1, `round ${round}: ${won.length} opens succeeded`)
      assert.deepEqual(codes, ['STORE_LOCKED'])
      await won[0]!.close()
    }
  })

  test('without an OS lock (the lock-file protocol), openers through separate file systems: exactly one wins', async () => {
    const root = join(dir, 'file-protocol')
    // A file system without `lockExclusive` runs the lock-file protocol.
    const open = () => Store.open(root, { fs: withoutOsLock(new FaultFileSystem(new NodeFileSystem())) })
    for (let round = 0; round < 10; round++) {
      const { won, codes } = await settle([open(), open(), open()])
      assert.equal(won.length, 1, `round ${round}: ${won.length} opens succeeded`)
      assert.deepEqual(codes, ['STORE_LOCKED', 'STORE_LOCKED'])
      await won[0]!.close()
    }
    // A lock left by a dead process on this host is stale; two racing takers: exactly one wins
    // (three or more are the protocol's known limit, see store-lock.ts).
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid
    for (let round = 0; round < 20; round++) {
      await writeFile(join(root, 'LOCK'), `${JSON.stringify({ pid: deadPid, host: hostname(), token: `dead-${round}` })}\n`)
      const { won, codes } = await settle([open(), open()])
      assert.equal(won.length, 1, `round ${round}: ${won.length} opens succeeded`)
      assert.deepEqual(codes, ['STORE_LOCKED'])
      await won[0]!.close()
    }
    assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('LOCK')), [])
    // Another host's lock is never guessed stale.
    await writeFile(join(root, 'LOCK'), `${JSON.stringify({ pid: deadPid, host: 'another-host', token: 'x' })}\n`)
    await assert.rejects(open(), isCode('STORE_LOCKED'))
  })

  test('a fault-injecting file system over the real disk keeps its OS lock (a plain opener is excluded)', async () => {
    const root = join(dir, 'fault-over-disk')
    const faulty = new FaultFileSystem(new NodeFileSystem())
    assert.equal(typeof faulty.lockExclusive, typeof new NodeFileSystem().lockExclusive)
    const store = await Store.open(root, { fs: faulty })
    await assert.rejects(Store.open(root), isCode('STORE_LOCKED'))
    await store.close()
  })

  test('a store whose owner crashed (simulated) is taken over, and its late release leaves the new lock alone', async () => {
    for (const crash of ['processCrash', 'powerLoss'] as const) {
      const fs = new MemoryFileSystem()
      const first = await Store.open('/data', { fs })
      fs[crash]()
      const second = await Store.open('/data', { fs })
      await first.close()
      await assert.rejects(Store.open('/data', { fs }), isCode('STORE_LOCKED'), crash)
      await second.close()
      const third = await Store.open('/data', { fs })
      await third.close()
    }
  })

  test('processes racing to open one store: exactly one wins each round', async () => {
    const root = join(dir, 'race')
    const n = 4
    for (let round = 0; round < 3; round++) {
      const children = Array.from({ length: n }, () => new Child(root))
      try {
        for (const c of children) assert.equal(await c.line(), 'ready')
        for (const c of children) c.go()
        const results = await Promise.all(children.map((c) => c.line()))
        assert.equal(results.filter((r) => r === 'won').length, 1, `round ${round}: ${results.join(' ')}`)
        assert.equal(results.filter((r) => r === 'STORE_LOCKED').length, n - 1, `round ${round}: ${results.join(' ')}`)
      } finally {
        await Promise.all(children.map((c) => c.end()))
      }
    }
  })

  test('an owner killed with SIGKILL: the next opener takes over', async () => {
    const root = join(dir, 'killed')
    const child = new Child(root)
    assert.equal(await child.line(), 'ready')
    child.go()
    assert.equal(await child.line(), 'won')
    await assert.rejects(Store.open(root), isCode('STORE_LOCKED'))
    child.proc.kill('SIGKILL')
    await child.exited()
    const store = await Store.open(root)
    await store.close()
    assert.ok(!(await readdir(root)).some((n) => n.startsWith('LOCK')), 'no lock files left after close')
  })

  test('a held lock whose file reads empty (as between create and write) is not taken over', async () => {
    const root = join(dir, 'empty-file')
    const child = new Child(root)
    try {
      assert.equal(await child.line(), 'ready')
      child.go()
      assert.equal(await child.line(), 'won')
      await writeFile(join(root, 'LOCK'), '')
      await assert.rejects(Store.open(root), isCode('STORE_LOCKED'))
    } finally {
      await child.end()
    }
  })

  test('a held lock naming our own pid (another container, same pid) is not taken over', async () => {
    const root = join(dir, 'same-pid')
    const child = new Child(root)
    try {
      assert.equal(await child.line(), 'ready')
      child.go()
      assert.equal(await child.line(), 'won')
      const lockPath = join(root, 'LOCK')
      assert.ok((await readFile(lockPath)).length > 0)
      // What the owner's file would say if it ran in another container where its pid is ours.
      await writeFile(lockPath, `${JSON.stringify({ pid: process.pid, host: hostname(), token: 'another-container' })}\n`)
      await assert.rejects(Store.open(root), isCode('STORE_LOCKED'))
    } finally {
      await child.end()
    }
    const store = await Store.open(root)
    await store.close()
  })
})
