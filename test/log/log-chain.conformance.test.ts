/**
 * The `Log` conformance suite against `LogChain`: chains of file logs that roll to a new log
 * every few appends (rolls run while appends, reads and tails are under way), so the suite's
 * reads, tails, trims and cuts cross from sealed logs into the active one. Reopens rebuild the
 * chain from its recorded links, after a power loss on the in-memory file system.
 */
import { MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import type { FileSystem } from '../../src/io/index.js'
import type { Log } from '../../src/log/index.js'
import { describeLogConformance } from '../helpers/log-conformance.js'
import { makeTempDir } from '../helpers/temp-dir.js'
import { ChainUnderTest } from './log-chain-helpers.js'

/** Every this many appends, a roll starts (not awaited: appends go on during it). */
const rollEveryAppends = 9

function rolling(t: ChainUnderTest): Log {
  let appends = 0
  const chain = (): Log => t.chain
  return new Proxy({} as Log, {
    get(_target, prop) {
      const target = chain() as unknown as Record<PropertyKey, unknown>
      if (prop === 'append') {
        return (...args: Parameters<Log['append']>) => {
          const result = t.chain.append(...args)
          if (++appends % rollEveryAppends === 0) void t.roll().catch(() => undefined)
          return result
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

async function register(name: string, make: () => Promise<{ fs: FileSystem; root: string; cleanup: () => Promise<void>; powerLoss?: () => void }>): Promise<void> {
  describeLogConformance(name, async ({ startLsn }) => {
    const { fs, root, cleanup, powerLoss } = await make()
    const t = await ChainUnderTest.create(fs, root, startLsn ?? 1)
    return {
      log: rolling(t),
      reopen: async () => {
        powerLoss?.()
        await t.reopen()
        return rolling(t)
      },
      cleanup,
    }
  })
}

await register('LogChain of file logs on MemoryFileSystem (rolling; reopened after power loss)', async () => {
  const fs = new MemoryFileSystem()
  return { fs, root: '/data/logs', cleanup: async () => undefined, powerLoss: () => fs.powerLoss() }
})

await register('LogChain of file logs on the real file system (rolling)', async () => {
  const temp = await makeTempDir('cairn-chain-conformance-')
  return { fs: new NodeFileSystem(), root: `${temp.path}/logs`, cleanup: () => temp.cleanup() }
})
