/**
 * `cairn backup create`: a consistent checkpoint of a store.
 *   DIR --data DATA          the store is opened here (no other process may hold it);
 *   --server URL [--name N]  a running server makes it, into its --backup-dir (POST /v1/backups);
 *   --into ROOT [--name N]   a new backup of the backup set at ROOT, from --data or from --server
 *                            (then ROOT must be that server's --backup-dir).
 * Prints where the checkpoint is and each partition's LSN; `--json` prints one object.
 */
import { realpath } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import { assertBackupName, checkpoint, createBackup } from '../../checkpoint/index.js'
import { CairnError, isCairnError } from '../../io/errors.js'
import { Store } from '../../partition/index.js'
import { ApiError, type ApiErrorCode } from '../../wire/index.js'
import { type DataOptions, withData } from '../options.js'
import { writeLine } from '../output.js'
import { showProgress } from './backup-progress.js'

interface CreateOptions extends DataOptions {
  server?: string
  name?: string
  token?: string
  into?: string
  json?: boolean
}

/** What every form of create prints. */
interface Created {
  name?: string
  path: string
  partitions: Record<string, number>
  createdAt?: string
  files?: number
  bytes?: number
  linkedFiles?: number
  copiedFiles?: number
}

export function registerBackupCreate(backup: Command): void {
  withData(backup.command('create').description('make a consistent checkpoint of a store: into DIR, through a server, or into a backup set'))
    .argument('[dir]', 'where the checkpoint goes (must not exist, or be empty)')
    .option('--server <url>', 'ask the server at this URL to make it (into its --backup-dir)')
    .option('--name <name>', 'the backup\'s name (with --server or --into; default: a time-sortable one)')
    .option('--token <token>', 'bearer token for --server (default: $CAIRN_TOKEN)')
    .option('--into <root>', 'add a backup to the backup set at ROOT (created if missing)')
    .option('--json', 'print one JSON object')
    .action(async (dir: string | undefined, options: CreateOptions, command: Command) => {
      const dataGiven = command.getOptionValueSource('data') === 'cli'
      checkUsage(dir, options, dataGiven)
      const created = options.server !== undefined ? await viaServer(options.server, options) : await local(dir, options)
      if (options.json) {
        await writeLine(JSON.stringify(created))
        return
      }
      await writeLine(`backup ${created.name !== undefined ? `${created.name} ` : ''}at ${created.path}`)
      if (created.files !== undefined) {
        await writeLine(`${created.files} files, ${created.bytes} bytes (${created.linkedFiles} linked, ${created.copiedFiles} copied)`)
      }
      for (const [id, lsn] of Object.entries(created.partitions)) await writeLine(`  ${id}  lsn=${lsn}`)
    })
}

function usage(message: string): CairnError {
  return new CairnError('INVALID_ARGUMENT', message)
}

function checkUsage(dir: string | undefined, o: CreateOptions, dataGiven: boolean): void {
  if (o.server !== undefined && dataGiven) throw usage('give --data (open the store here) or --server (ask a running server), not both')
  if (o.into !== undefined && dir !== undefined) throw usage('give DIR (one checkpoint) or --into ROOT (a backup set), not both')
  if (o.server === undefined && o.into === undefined && dir === undefined) {
    throw usage('say where the backup goes: cairn backup create DIR --data DATA, --into ROOT, or --server URL')
  }
  if (o.server !== undefined && dir !== undefined) throw usage('with --server the server decides where the backup goes (its --backup-dir): leave DIR out')
  if (o.name !== undefined && o.server === undefined && o.into === undefined) throw usage('--name names a backup of a set or a server: use it with --into or --server (DIR already names the checkpoint)')
  if (o.token !== undefined && o.server === undefined) throw usage('--token is for --server')
  if (o.name !== undefined) assertBackupName(o.name)
}

async function local(dir: string | undefined, o: CreateOptions): Promise<Created> {
  const store = await openOwned(o.data)
  const shown = showProgress('checkpoint')
  try {
    if (o.into !== undefined) {
      const made = await createBackup(o.into, store, { ...(o.name !== undefined && { name: o.name }), onProgress: shown.onProgress })
      return made
    }
    return await checkpoint(store, resolve(dir!), { onProgress: shown.onProgress })
  } finally {
    shown.stop()
    await store.close()
  }
}

/** The store, owned by this process; a store a server holds is backed up through the server. */
async function openOwned(data: string): Promise<Store> {
  try {
    return await Store.open(data, { create: false })
  } catch (e) {
    if (!isCairnError(e, 'STORE_LOCKED')) throw e
    throw new CairnError(
      'STORE_LOCKED',
      `${e.message.replace(/: close it there first.*$/, '')}: to back up a store a running server holds, ask that server: cairn backup create --server URL (it must run with --backup-dir ROOT)`,
      { context: e.context, cause: e },
    )
  }
}

async function viaServer(url: string, o: CreateOptions): Promise<Created> {
  const token = o.token ?? process.env.CAIRN_TOKEN
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`
  const endpoint = `${url.replace(/\/+$/, '')}/v1/backups`
  let res: Response
  try {
    res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify(o.name !== undefined ? { name: o.name } : {}) })
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause
    throw new CairnError('IO_ERROR', `could not reach the server at ${url} (${cause?.code ?? (e as Error).message}): is cairn serve running there?`, {
      context: { url },
      cause: e,
    })
  }
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new ApiError('INTERNAL', `the server at ${url} answered ${res.status} with a body that is not JSON: is it a cairn server?`)
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } }).error
    // The server's code, shown as it is (the CLI maps only usage codes to exit 2).
    throw new ApiError((error?.code ?? 'INTERNAL') as ApiErrorCode, error?.message ?? `the server answered ${res.status}`)
  }
  const created = body as Created
  if (o.into !== undefined) {
    const root = await realpath(o.into).catch(() => resolve(o.into!))
    const answered = await realpath(dirname(created.path)).catch(() => dirname(created.path))
    if (answered !== root) {
      throw usage(
        `the server made backup ${created.name} at ${created.path}, which is not in ${root}: the server's --backup-dir is its backup set, so give that directory as --into (or leave --into out)`,
      )
    }
  }
  return created
}
