/**
 * `cairn snapshot ...`: the command group. Each subcommand lives in its own file
 * (`snapshot-<name>.ts`) exporting `registerSnapshot<Name>(group)`; to add one, import it and
 * add one line to the list below.
 */
import type { Command } from 'commander'
import { registerSnapshotCreate } from './snapshot-create.js'
import { registerSnapshotList } from './snapshot-list.js'
import { registerSnapshotPrune } from './snapshot-prune.js'
import { registerSnapshotRestore } from './snapshot-restore.js'
import { registerSnapshotShow } from './snapshot-show.js'
import { registerSnapshotVerify } from './snapshot-verify.js'

export function registerSnapshot(program: Command): void {
  const group = program.command('snapshot').description("partitions' snapshots in a repository (file:// or s3://)")
  registerSnapshotCreate(group)
  registerSnapshotList(group)
  registerSnapshotShow(group)
  registerSnapshotVerify(group)
  registerSnapshotPrune(group)
  registerSnapshotRestore(group)
}
