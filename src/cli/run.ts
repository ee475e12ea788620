/** Runs the CLI: parses `argv`, runs the command, maps any error to a message and exit code. */
import { CommanderError } from 'commander'
import { exitCodeOf, exitFailure, exitOk, exitUsage, formatError } from './exit-code.js'
import { buildProgram } from './program.js'

/**
 * Returns the exit code; never throws. `argv` is as in `process.argv` (node, script, ...args).
 *
 * @example
 * process.exitCode = await run(['node', 'cairn', 'kv', 'get', 'users', 'alice', '--data', './cairn-data'])
 */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync([...argv])
    return exitOk
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed the message; --help and --version are successes.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? exitOk : exitUsage
    }
    process.stderr.write(`${formatError(e, argv.includes('--json'))}\n`)
    return exitCodeOf(e) === exitUsage ? exitUsage : exitFailure
  }
}
