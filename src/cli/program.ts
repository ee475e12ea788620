/** The `cairn` command tree. */
import { Command } from 'commander'
import { registerBackup } from './commands/backup.js'
import { registerInfo } from './commands/info.js'
import { registerIngest } from './commands/ingest.js'
import { registerInit } from './commands/init.js'
import { registerKv } from './commands/kv.js'
import { registerLogAppend } from './commands/log-append.js'
import { registerLogRead } from './commands/log-read.js'
import { registerServe } from './commands/serve.js'
import { registerSnapshot } from './commands/snapshot.js'

/**
 * The command tree, unparsed (commander throws instead of exiting: `run` maps errors to exit codes).
 *
 * @example
 * buildProgram().helpInformation() // the usage text of `cairn --help`
 */
export function buildProgram(): Command {
  const program = new Command('cairn')
    .description('a durable, partitioned log + state engine')
    .version('0.1.0')
    // Set before adding commands: subcommands copy these settings when created.
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
  registerInit(program)
  registerInfo(program)
  const log = program.command('log').description('append to and read from partition logs')
  registerLogAppend(log)
  registerLogRead(log)
  registerKv(program)
  registerServe(program)
  registerSnapshot(program)
  registerBackup(program)
  registerIngest(program)
  return program
}
