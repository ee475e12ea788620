/**
 * `cairn backup list --into ROOT [--json]` and `cairn backup prune --into ROOT --keep N [--json]`:
 * the backups of a backup set, oldest first, and deleting the oldest. A file a kept backup shares
 * stays (backups share files by hard links: deleting one backup removes only its own links).
 */
import type { Command } from 'commander'
import { type BackupInfo, listBackups, pruneBackups } from '../../checkpoint/index.js'
import { intParser } from '../options.js'
import { writeLine } from '../output.js'

interface ListOptions {
  into: string
  json?: boolean
}

interface PruneOptions extends ListOptions {
  keep: number
}

export function registerBackupList(backup: Command): void {
  backup
    .command('list')
    .description('list the backups of a backup set, oldest first')
    .requiredOption('--into <root>', 'the backup set')
    .option('--json', 'print one JSON object')
    .action(async (options: ListOptions) => {
      const listing = await listBackups(options.into)
      if (options.json) {
        await writeLine(JSON.stringify(listing))
        return
      }
      await writeLine(`${listing.backups.length} backup${listing.backups.length === 1 ? '' : 's'} in ${listing.root} (${mb(listing.uniqueBytes)} MB of distinct files)`)
      for (const b of listing.backups) await writeLine(`  ${backupLine(b)}`)
      for (const o of listing.others) await writeLine(`  not a backup: ${o.name} (${o.reason})`)
    })

  backup
    .command('prune')
    .description('delete the oldest backups of a backup set, keeping the newest N')
    .requiredOption('--into <root>', 'the backup set')
    .requiredOption('--keep <n>', 'how many of the newest backups to keep', intParser('keep', 1))
    .option('--json', 'print one JSON object')
    .action(async (options: PruneOptions) => {
      const result = await pruneBackups(options.into, options.keep)
      if (options.json) {
        await writeLine(JSON.stringify(result))
        return
      }
      await writeLine(`deleted ${result.deleted.length}${result.deleted.length > 0 ? `: ${result.deleted.join(', ')}` : ''}; kept ${result.kept.length}`)
      for (const b of result.kept) await writeLine(`  ${backupLine(b)}`)
    })
}

function backupLine(b: BackupInfo): string {
  const cut = Object.entries(b.partitions)
    .map(([id, lsn]) => `${id}@${lsn}`)
    .join(',')
  return `${b.name}  ${b.createdAt}  ${b.files} files  ${mb(b.bytes)} MB (${mb(b.sharedBytes)} MB shared)  ${cut}`
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1)
}
