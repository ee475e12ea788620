/**
 * Table files: the immutable, checksummed sorted files of the state tree (format, writer,
 * reader), their data blocks and bloom filters, and the block cache the readers share.
 */
export { type Block, BlockBuilder, decodeBlock } from './block.js'
export { BlockCache, tableBlockCountMax } from './block-cache.js'
export { BloomFilter, buildBloom, hashKey } from './bloom-filter.js'
export { corruptTable, type TableInfo, tableFileName, tableFilePattern } from './table-format.js'
export { closeReadWaitMsMax, Table } from './table-reader.js'
export { TableWriter, writeChunkBytes } from './table-writer.js'
