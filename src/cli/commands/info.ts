/** `cairn info [--json]`: the store and, per partition, whatever `partition.info()` reports. */
import type { Command } from 'commander'
import { withStore } from '../open-store.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'

export function registerInfo(program: Command): void {
  withData(program.command('info').description('show the store and its partitions'))
    .option('--json', 'print one JSON object')
    .action(async (options: DataOptions & { json?: boolean }) => {
      await withStore(options.data, false, async (store) => {
        const info = await store.info()
        if (options.json) {
          await writeLine(JSON.stringify(info, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
          return
        }
        await writeLine(`store ${info.storeId} at ${info.dir} (created ${new Date(info.createdAtMs).toISOString()})`)
        await writeLine(`${info.partitions.length} partition${info.partitions.length === 1 ? '' : 's'}`)
        // Printed generically so fields the state engine adds (applied/durable LSN, tables) show up too.
        for (const p of info.partitions) {
          const { id, ...rest } = p as unknown as Record<string, unknown>
          const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
          await writeLine(`  ${String(id)}  ${fields.join(' ')}`)
        }
        if (info.lostAndFound.length > 0) {
          await writeLine(`${info.lostAndFound.length} in lost+found (directories no catalog entry names; check them, then remove them):`)
          for (const name of info.lostAndFound) await writeLine(`  ${name}`)
        }
      })
    })
}
