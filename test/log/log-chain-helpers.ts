/**
 * A log chain as a store would keep it, for tests of the log layer: file logs in
 * `<root>/<logId>/`, the links recorded in memory (the store's catalog), sealed logs opened
 * read-only for reads, dropped logs recorded first and removed after.
 */
import { randomBytes } from 'node:crypto'
import type { FileSystem } from '../../src/io/index.js'
import { FileLog, LogChain, type LogChainLink } from '../../src/log/index.js'

export const chainSegmentBytesMax = 4096

export class ChainUnderTest {
  readonly fs: FileSystem
  readonly root: string
  /** The recorded chain (what a catalog would hold). */
  links: LogChainLink[]
  chain!: LogChain
  /** Sealed logs opened for reads and not yet closed (descriptors held). */
  openSealed = 0

  private constructor(fs: FileSystem, root: string, links: LogChainLink[]) {
    this.fs = fs
    this.root = root
    this.links = links
  }

  static async create(fs: FileSystem, root: string, startLsn = 1): Promise<ChainUnderTest> {
    const logId = randomBytes(16).toString('hex')
    const t = new ChainUnderTest(fs, root, [{ logId, firstLsn: startLsn }])
    await t.open()
    return t
  }

  dir(logId: string): string {
    return `${this.root}/${logId}`
  }

  async open(): Promise<LogChain> {
    const last = this.links[this.links.length - 1]!
    const active = await FileLog.open({ fs: this.fs, dir: this.dir(last.logId), logId: last.logId, startLsn: last.firstLsn, segmentBytesMax: chainSegmentBytesMax })
    this.chain = await LogChain.open({
      links: this.links,
      active,
      name: `chain ${this.root}`,
      openSealed: async (link) => {
        const log = await FileLog.open({ fs: this.fs, dir: this.dir(link.logId), logId: link.logId, readOnly: true, segmentBytesMax: chainSegmentBytesMax })
        this.openSealed += 1
        const close = log.close.bind(log)
        log.close = async () => {
          this.openSealed -= 1
          await close()
        }
        return log
      },
      dropSealed: async (drop) => {
        this.links = this.links.slice(drop.length)
        for (const link of drop) await this.fs.removeTree(this.dir(link.logId))
        await this.fs.syncDir(this.root)
      },
    })
    return this.chain
  }

  async reopen(): Promise<LogChain> {
    await this.chain.close().catch(() => undefined)
    return await this.open()
  }

  roll(): Promise<LogChainLink> {
    return this.chain.roll({
      open: (firstLsn) => {
        const logId = randomBytes(16).toString('hex')
        return FileLog.open({ fs: this.fs, dir: this.dir(logId), logId, startLsn: firstLsn, segmentBytesMax: chainSegmentBytesMax })
      },
      commit: async (link) => {
        this.links = [...this.links, link]
      },
    })
  }
}
