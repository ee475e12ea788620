/** `cairn backup ...`: online checkpoints of a store, their verification and restore, and backup sets. */
import type { Command } from 'commander'
import { registerBackupCreate } from './backup-create.js'
import { registerBackupList } from './backup-list.js'
import { registerBackupRestore } from './backup-restore.js'
import { registerBackupVerify } from './backup-verify.js'

export function registerBackup(program: Command): void {
  const backup = program.command('backup').description('consistent checkpoints of a store: create, verify, restore; backup sets: list, prune')
  registerBackupCreate(backup)
  registerBackupVerify(backup)
  registerBackupRestore(backup)
  registerBackupList(backup)
}
