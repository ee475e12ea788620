/** `cairn init`: creates the store (idempotent: an existing store is left as it is). */
import type { Command } from 'commander'
import { withStore } from '../open-store.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'

export function registerInit(program: Command): void {
  withData(program.command('init').description('create a store in the data directory (no-op if one exists)')).action(
    async (options: DataOptions) => {
      await withStore(options.data, true, async (store) => {
        await writeLine(`store ${store.storeId} at ${store.dir}`)
      })
    },
  )
}
