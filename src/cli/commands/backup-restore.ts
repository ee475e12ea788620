/**
 * `cairn backup restore DIR --to DATA [--json]`: a new store from a checkpoint. DATA must not
 * exist or be empty (TARGET_NOT_EMPTY otherwise); the checkpoint is verified first and the store
 * appears at DATA whole or not at all.
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { restoreCheckpoint } from '../../checkpoint/index.js'
import { writeLine } from '../output.js'
import { showProgress } from './backup-progress.js'

interface RestoreOptions {
  to: string
  json?: boolean
}

export function registerBackupRestore(backup: Command): void {
  backup
    .command('restore')
    .description('make a new store from a checkpoint (verified first)')
    .argument('<dir>', 'the checkpoint (a backup) directory')
    .requiredOption('--to <data>', 'the new store directory (must not exist, or be empty)')
    .option('--json', 'print one JSON object')
    .action(async (dir: string, options: RestoreOptions) => {
      const shown = showProgress('restore')
      let restored: Awaited<ReturnType<typeof restoreCheckpoint>>
      try {
        restored = await restoreCheckpoint(dir, resolve(options.to), { onProgress: shown.onProgress })
      } finally {
        shown.stop()
      }
      if (options.json) {
        await writeLine(JSON.stringify(restored))
        return
      }
      await writeLine(`restored ${dir} to ${restored.path}`)
      for (const [id, lsn] of Object.entries(restored.partitions)) await writeLine(`  ${id}  lsn=${lsn}`)
    })
}
