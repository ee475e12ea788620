/**
 * Checking a table file whole, for a backup's verification: its footer, index and bloom block,
 * what the manifest says of it, and every data block's checksum. Reads only; caches nothing.
 *
 * Invariant: resolves only when every byte of the table a read would use passed its checksum;
 * anything else is CORRUPT_TABLE naming the file and offset (or UNSUPPORTED_FORMAT).
 */
import type { FileSystem } from '../io/file-system.js'
import { BlockCache, Table, type TableInfo } from './table/index.js'

/** Bytes read per I/O while checking a table's blocks. */
const verifyChunkBytes = 1024 * 1024

/**
 * @example
 * for (const t of decodeManifest(bytes, path).tables) await verifyTableFile(fs, `${dir}/${tableFileName(t.id)}`, t)
 */
export async function verifyTableFile(fs: FileSystem, path: string, info: TableInfo): Promise<void> {
  const table = await Table.open(fs, path, info, new BlockCache(0))
  try {
    for (let i = 0; i < table.blockCount; ) i += (await table.loadBlocks(i, verifyChunkBytes, false)).length
  } finally {
    await table.close()
  }
}
