/**
 * The `Log` conformance suite (test/helpers/log-conformance.ts) against every log of src/log:
 * the file log on the in-memory file system (each reopen after a power loss), on the real file
 * system, and the in-memory log. Segments of 4 KiB, so that trim has whole units to remove.
 */
import { MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { FileLog, MemoryLog } from '../../src/log/index.js'
import { describeLogConformance } from '../helpers/log-conformance.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const segmentBytesMax = 4096

describeLogConformance('FileLog on MemoryFileSystem (reopened after power loss)', async ({ startLsn }) => {
  const fs = new MemoryFileSystem()
  const dir = '/data/log'
  const log = await FileLog.open({ fs, dir, segmentBytesMax, startLsn })
  return {
    log,
    reopen: async () => {
      fs.powerLoss()
      return FileLog.open({ fs, dir, segmentBytesMax })
    },
    cleanup: async () => undefined,
  }
})

describeLogConformance('FileLog on the real file system', async ({ startLsn }) => {
  const temp = await makeTempDir('cairn-log-conformance-')
  const fs = new NodeFileSystem()
  const dir = `${temp.path}/log`
  const log = await FileLog.open({ fs, dir, segmentBytesMax, startLsn })
  return { log, reopen: () => FileLog.open({ fs, dir, segmentBytesMax }), cleanup: () => temp.cleanup() }
})

describeLogConformance('MemoryLog', async ({ startLsn }) => {
  let current = new MemoryLog({ startLsn, trimUnitRecords: 16 })
  return { log: current, reopen: async () => (current = current.reopen()), cleanup: async () => undefined }
})
