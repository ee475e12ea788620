/**
 * `cairn backup verify DIR [--deep] [--json]`: every file of a checkpoint against its manifest,
 * then its structure (`--deep` also restores it into a temporary directory and opens it). Exits
 * 1 naming each bad or missing file; the report goes to stdout (`--json`: one object), the
 * error to stderr.
 */
import type { Command } from 'commander'
import { checkpointManifestFile, verifyCheckpoint } from '../../checkpoint/index.js'
import { CorruptionError } from '../../io/errors.js'
import { writeLine } from '../output.js'

/** Problems named in the error message; the report lists them all. */
export const problemsNamedMax = 20

interface VerifyOptions {
  deep?: boolean
  json?: boolean
}

export function registerBackupVerify(backup: Command): void {
  backup
    .command('verify')
    .description('check a checkpoint: every file against its manifest, then its structure; exits 1 naming each damaged file')
    .argument('<dir>', 'the checkpoint (a backup) directory')
    .option('--deep', 'also restore it into a temporary directory, open it and compare entry counts')
    .option('--json', 'print one JSON object')
    .action(async (dir: string, options: VerifyOptions) => {
      const result = await verifyCheckpoint(dir, { deep: options.deep === true })
      if (options.json) await writeLine(JSON.stringify(result))
      else {
        for (const p of result.problems) await writeLine(`${p.problem}\t${p.path}\t${p.detail}`)
        if (result.ok) {
          await writeLine(`ok: ${result.files} files${options.deep ? ', restored and opened' : ''}`)
          for (const [id, lsn] of Object.entries(result.partitions)) await writeLine(`  ${id}  lsn=${lsn}`)
        }
      }
      if (!result.ok) {
        const only = result.problems.length === 1 ? result.problems[0] : undefined
        if (only?.problem === 'missing' && only.path === checkpointManifestFile) {
          throw new CorruptionError('CORRUPT_CHECKPOINT', `${dir} is not a checkpoint: it holds no ${checkpointManifestFile} (a directory of something else, or a checkpoint whose making never finished)`, {
            context: { dir, problems: 1 },
          })
        }
        const named = result.problems.slice(0, problemsNamedMax).map((p) => `${p.path} (${p.problem})`)
        const more = result.problems.length > problemsNamedMax ? ` and ${result.problems.length - problemsNamedMax} more` : ''
        throw new CorruptionError(
          'CORRUPT_CHECKPOINT',
          `checkpoint ${dir} is damaged: ${named.join(', ')}${more}; restore from another backup, and make a new one`,
          { context: { dir, problems: result.problems.length } },
        )
      }
    })
}
