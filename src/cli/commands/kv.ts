/**
 * `cairn kv put|get|del|scan`: the partition's key-value state. Keys and values on the command
 * line are UTF-8; `kv put` without a value reads it (all bytes) from stdin; `kv get` prints the
 * raw value bytes. `kv scan --json` prints `keyBase64`/`valueBase64` for non-UTF-8 bytes.
 * `kv get` and `kv scan` work beside a running server: when another process holds the store they
 * read a read-only view of the partition as of that moment (open-store.ts).
 */
import type { Command } from 'commander'
import { assertPartitionId, type ScanRange, validateKey, validateValue } from '../../partition/index.js'
import { ApiError, bytesField, utf8, utf8OrUndefined } from '../../wire/index.js'
import { withReadablePartition, withStore } from '../open-store.js'
import { type DataOptions, parseLimit, withData } from '../options.js'
import { write, writeLine } from '../output.js'

interface ScanCliOptions extends DataOptions {
  gte?: string
  lt?: string
  limit?: number
  json?: boolean
}

export function registerKv(program: Command): void {
  const kv = program.command('kv').description("read and write a partition's key-value state")

  withData(kv.command('put').description('set a key (creates the partition if missing); prints the LSN'))
    .argument('<partition>', 'partition id')
    .argument('<key>', 'key (UTF-8)')
    .argument('[value]', 'value (UTF-8); none: read stdin')
    .action(async (partitionId: string, keyText: string, valueText: string | undefined, options: DataOptions) => {
      assertPartitionId(partitionId)
      const key = keyOf(keyText)
      const value = valueText !== undefined ? utf8(valueText) : await readStdin()
      validateValue(value)
      await withStore(options.data, false, async (store) => {
        const lsn = await (await store.ensurePartition(partitionId)).put(key, value)
        await writeLine(String(lsn))
      })
    })

  withData(kv.command('get').description('print the value of a key (exit 1, KEY_NOT_FOUND, if absent)'))
    .argument('<partition>', 'partition id')
    .argument('<key>', 'key (UTF-8)')
    .option('--json', 'print {"key":"...","value":"..."} (valueBase64 for non-UTF-8 bytes)')
    .action(async (partitionId: string, keyText: string, options: DataOptions & { json?: boolean }) => {
      assertPartitionId(partitionId)
      const key = keyOf(keyText)
      await withReadablePartition(options.data, partitionId, async (partition) => {
        const value = await partition.get(key)
        if (value === undefined) throw new ApiError('KEY_NOT_FOUND', `no key ${JSON.stringify(keyText)} in partition ${partitionId}`)
        if (options.json) {
          await writeLine(JSON.stringify({ ...bytesField('key', key), ...bytesField('value', value) }))
          return
        }
        await write(process.stdout, value)
        if (process.stdout.isTTY) await writeLine('')
      })
    })

  withData(kv.command('del').alias('delete').description('delete a key; prints the LSN'))
    .argument('<partition>', 'partition id')
    .argument('<key>', 'key (UTF-8)')
    .action(async (partitionId: string, keyText: string, options: DataOptions) => {
      assertPartitionId(partitionId)
      const key = keyOf(keyText)
      await withStore(options.data, false, async (store) => {
        const lsn = await (await store.partition(partitionId)).delete(key)
        await writeLine(String(lsn))
      })
    })

  withData(kv.command('scan').description('print keys in ascending order'))
    .argument('<partition>', 'partition id')
    .option('--gte <key>', 'first key (inclusive)')
    .option('--lt <key>', 'end key (exclusive)')
    .option('--limit <n>', 'print at most n entries', parseLimit)
    .option('--json', 'one JSON object per line: {"key":"...","value":"..."}')
    .action(async (partitionId: string, options: ScanCliOptions) => {
      assertPartitionId(partitionId)
      const scan: ScanRange = {}
      if (options.gte !== undefined) scan.gte = utf8(options.gte)
      if (options.lt !== undefined) scan.lt = utf8(options.lt)
      if (options.limit !== undefined) scan.limit = options.limit
      await withReadablePartition(options.data, partitionId, async (partition) => {
        let left = options.limit ?? Number.POSITIVE_INFINITY
        for await (const [key, value] of partition.scan(scan)) {
          if (left-- <= 0) break
          await writeLine(options.json ? JSON.stringify({ ...bytesField('key', key), ...bytesField('value', value) }) : `${shown(key)}\t${shown(value)}`)
        }
      })
    })
}

function keyOf(text: string): Uint8Array {
  const key = utf8(text)
  validateKey(key)
  return key
}

function shown(bytes: Uint8Array): string {
  return utf8OrUndefined(bytes) ?? `base64:${Buffer.from(bytes).toString('base64')}`
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return new Uint8Array(Buffer.concat(chunks))
}
