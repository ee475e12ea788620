/**
 * `cairn log read <partition> [--from LSN] [--limit N] [--follow] [--json]`. Plain output is
 * `lsn<TAB>payload` for people; `--json` is one object per line for programs, with
 * `payloadBase64` when a payload is not UTF-8. `--follow` waits for new records until SIGINT.
 *
 * It reads without owning the store (`StoreReader`: no lock, nothing written), so it works, and
 * follows, while a server or another process writes to the same store.
 */
import type { Command } from 'commander'
import { assertPartitionId, type LogEntry, StoreReader } from '../../partition/index.js'
import { bytesField, utf8OrUndefined } from '../../wire/index.js'
import { type DataOptions, parseLimit, parseLsn, withData } from '../options.js'
import { writeLine } from '../output.js'

interface ReadOptions extends DataOptions {
  from?: number
  limit?: number
  follow?: boolean
  json?: boolean
}

export function registerLogRead(log: Command): void {
  withData(log.command('read').description('print records of a partition'))
    .argument('<partition>', 'partition id')
    .option('--from <lsn>', 'first LSN to print (default: the first retained)', parseLsn)
    .option('--limit <n>', 'print at most n records', parseLimit)
    .option('-f, --follow', 'keep waiting for new records until Ctrl-C')
    .option('--json', 'one JSON object per line: {"lsn":1,"payload":"..."}')
    .action(async (partitionId: string, options: ReadOptions) => {
      assertPartitionId(partitionId)
      const reader = await StoreReader.open(options.data)
      try {
        const print = async (e: LogEntry) => writeLine(options.json ? formatJson(e) : formatPlain(e))
        if (!options.follow) {
          const read = options.from === undefined ? { limit: options.limit } : { fromLsn: options.from, limit: options.limit }
          for await (const e of reader.read(partitionId, read)) await print(e)
          return
        }
        const stop = new AbortController()
        const onSignal = () => stop.abort()
        process.once('SIGINT', onSignal)
        process.once('SIGTERM', onSignal)
        try {
          let left = options.limit ?? Number.POSITIVE_INFINITY
          for await (const e of reader.tail(partitionId, options.from, { signal: stop.signal })) {
            await print(e)
            if (--left <= 0) break
          }
        } finally {
          process.off('SIGINT', onSignal)
          process.off('SIGTERM', onSignal)
        }
      } finally {
        await reader.close()
      }
    })
}

function formatJson(e: LogEntry): string {
  return JSON.stringify({ lsn: e.lsn, ...bytesField('payload', e.payload) })
}

function formatPlain(e: LogEntry): string {
  const text = utf8OrUndefined(e.payload)
  return `${e.lsn}\t${text ?? `base64:${Buffer.from(e.payload).toString('base64')}`}`
}
