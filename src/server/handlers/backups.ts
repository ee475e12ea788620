/**
 * POST /v1/backups `{"name"?: "..."}` -> `{"name","path","partitions":{"p1":lsn}}`: a consistent
 * checkpoint of the live store as a new backup of the backup set at `--backup-dir` (404 without
 * one). Writers are not paused; every write acknowledged before the request arrived is in it.
 *
 * Backups run one at a time (each is I/O bound on the same disk, and the set's lock admits one
 * create anyway); up to `backupsWaitingMax` more wait their turn, past that 503 SERVER_BUSY.
 */
import { resolve } from 'node:path'
import { z } from 'zod'
import { backupNamePattern, createBackup } from '../../checkpoint/index.js'
import { ApiError } from '../../wire/index.js'
import { type Context, describeIssues, jsonBodyOf, type Reply } from '../context.js'

/** Backup requests waiting behind the running one; more are refused with SERVER_BUSY. */
export const backupsWaitingMax = 4

const backupBody = z.strictObject({
  name: z
    .string()
    .regex(backupNamePattern, "must be 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit")
    .optional(),
})

/** One queue per backup root, so backups of one server run one at a time. */
const queues = new Map<string, { tail: Promise<unknown>; waiting: number }>()

export async function postBackup(ctx: Context): Promise<Reply> {
  const root = ctx.options.backupDir
  if (root === undefined) throw new ApiError('NOT_FOUND', 'backups are off on this server: start it with cairn serve --backup-dir ROOT')
  const name = await backupName(ctx)
  const dir = resolve(root)
  const queue = queues.get(dir) ?? { tail: Promise.resolve(), waiting: 0 }
  queues.set(dir, queue)
  if (queue.waiting > backupsWaitingMax) {
    throw new ApiError('SERVER_BUSY', `${queue.waiting} backups are already running or waiting: retry once they are done`, { 'retry-after': '5' })
  }
  queue.waiting++
  const run = queue.tail.catch(() => undefined).then(() => createBackup(dir, ctx.store, name === undefined ? {} : { name }))
  queue.tail = run
  try {
    const made = await run
    return { json: { name: made.name, path: made.path, partitions: made.partitions, createdAt: made.createdAt } }
  } finally {
    queue.waiting--
  }
}

/** The optional name from the body; an empty body (or none) asks for a generated name. */
async function backupName(ctx: Context): Promise<string | undefined> {
  const length = ctx.req.headers['content-length']
  const hasBody = ctx.req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  if (!hasBody) return undefined
  const body = await jsonBodyOf(ctx)
  const parsed = backupBody.safeParse(body)
  if (!parsed.success) throw new ApiError('INVALID_REQUEST', `invalid backup request: ${describeIssues(parsed.error.issues)}`)
  return parsed.data.name
}
