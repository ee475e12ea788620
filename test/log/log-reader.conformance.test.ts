/**
 * The log-reader conformance suite (test/helpers/log-reader-conformance.ts) against the file
 * log's readers: the writing FileLog itself, and a read-only FileLog opened beside the writer
 * (on the in-memory and the real file system).
 */
import { type FileSystem, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { describeLogReaderConformance } from '../helpers/log-reader-conformance.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const segmentBytesMax = 4096
const record = (payload: Uint8Array) => ({ type: 1, payload })

describeLogReaderConformance('FileLog (the writer reads its own log)', async () => {
  const log = await FileLog.open({ fs: new MemoryFileSystem(), dir: '/data/log', segmentBytesMax })
  return { append: (payloads) => log.append(payloads.map(record)), reader: log, cleanup: () => log.close() }
})

async function besideWriter(fs: FileSystem, dir: string, cleanup: () => Promise<void>) {
  const writer = await FileLog.open({ fs, dir, segmentBytesMax })
  const reader = await FileLog.open({ fs, dir, segmentBytesMax, readOnly: true, pollIntervalMs: 5 })
  return {
    append: (payloads: Uint8Array[]) => writer.append(payloads.map(record)),
    reader,
    refresh: async () => {
      await reader.refresh()
    },
    cleanup: async () => {
      await reader.close()
      await writer.close()
      await cleanup()
    },
  }
}

describeLogReaderConformance('read-only FileLog beside a writer (memory file system)', async () => besideWriter(new MemoryFileSystem(), '/data/log', async () => undefined))

describeLogReaderConformance('read-only FileLog beside a writer (real file system)', async () => {
  const temp = await makeTempDir('cairn-log-reader-')
  return besideWriter(new NodeFileSystem(), `${temp.path}/log`, () => temp.cleanup())
})
