/** What a route handler gets, and what it answers. */
import type { IncomingMessage } from 'node:http'
import { assertPartitionId, type Partition, type Store } from '../partition/index.js'
import type { SnapshotManager } from '../snapshot/index.js'
import { ApiError } from '../wire/index.js'
import { cutMessage } from './error-response.js'
import { JsonShapeGuard } from './json-shape-guard.js'
import type { ServerMetrics } from './metrics.js'
import type { PartitionLimiter } from './partition-limiter.js'
import { parseJson, readBody } from './read-body.js'
import { checkBodyType } from './request-guard.js'
import { decodeSegment } from './router.js'
import { bodyDepthMax } from './server-limits.js'

export interface ResolvedServerOptions {
  bodyBytesMax: number
  recordBytesMax: number
  readLimitDefault: number
  readLimitMax: number
  autoCreate: boolean
  requestItemsMax: number
  pageBytesDefault: number
  pageBytesMax: number
  /** The backup set POST /v1/backups adds to; undefined: the route answers 404. */
  backupDir: string | undefined
}

export interface Context {
  req: IncomingMessage
  params: Record<string, string>
  query: URLSearchParams
  store: Store
  options: ResolvedServerOptions
  metrics: ServerMetrics
  /** Creates missing partitions under the server's bound. */
  partitions: PartitionLimiter
  /** Reserves body bytes in the server's in-flight budget (SERVER_BUSY past it). */
  reserve: (bytes: number) => void
  /** Reserves bytes of a read page being built in the server's page budget (SERVER_BUSY past it). */
  reservePage: (bytes: number) => void
  /** Sends `100 Continue` if the client asked for it (once, when the body is about to be read). */
  sendContinue: () => void
  /** Aborted when a shutdown stops waiting for slow bodies. */
  shutdown: AbortSignal
  /** The snapshot repository attached to the store (`cairn serve --repo`), if any. */
  snapshots?: SnapshotManager | undefined
}

export type Reply =
  | { status?: number; json: unknown }
  | { status?: number; text: string; contentType: string }
  | { status?: number; bytes: Uint8Array; contentType: string }

/** The `:p` parameter, decoded and validated before anything touches the store. */
export function partitionParam(ctx: Context): string {
  const raw = ctx.params.p ?? ''
  const id = decodeSegment(raw) ?? raw
  assertPartitionId(id)
  return id
}

/** The partition a write goes to: created when missing unless auto-create is off. */
export function writePartition(ctx: Context, id: string): Promise<Partition> {
  return ctx.options.autoCreate ? ctx.partitions.ensure(id) : ctx.store.partition(id)
}

/** A raw body (`application/octet-stream`). */
export function bodyOf(ctx: Context): Promise<Buffer> {
  checkBodyType(ctx.req, 'application/octet-stream')
  return readBody(ctx.req, { bytesMax: ctx.options.bodyBytesMax, reserve: ctx.reserve, signal: ctx.shutdown, beforeRead: ctx.sendContinue })
}

/** A JSON body, its item count and depth checked while it streams in, before it is parsed. */
export async function jsonBodyOf(ctx: Context): Promise<unknown> {
  checkBodyType(ctx.req, 'application/json')
  const guard = new JsonShapeGuard(ctx.options.requestItemsMax, bodyDepthMax)
  const body = await readBody(ctx.req, {
    bytesMax: ctx.options.bodyBytesMax,
    reserve: ctx.reserve,
    inspect: (chunk) => guard.push(chunk),
    signal: ctx.shutdown,
    beforeRead: ctx.sendContinue,
  })
  return parseJson(body)
}

/** A non-negative integer query parameter, or `fallback` when absent. */
export function intParam(ctx: Context, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = ctx.query.get(name)
  if (text === null || text === '') return fallback
  if (!/^\d{1,16}$/.test(text)) throw new ApiError('INVALID_REQUEST', `query parameter ${name} must be an integer (got ${JSON.stringify(text.slice(0, 40))})`)
  const n = Number(text)
  if (n < min || n > max) throw new ApiError('INVALID_REQUEST', `query parameter ${name} must be between ${min} and ${max} (got ${n})`)
  return n
}

export function boolParam(ctx: Context, name: string): boolean {
  const text = ctx.query.get(name)
  if (text === null || text === '' || text === 'false' || text === '0') return false
  if (text === 'true' || text === '1') return true
  throw new ApiError('INVALID_REQUEST', `query parameter ${name} must be true or false`)
}

/** Formats a zod error as one readable line. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return cutMessage(
    issues
      .slice(0, 5)
      .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : 'body'}: ${cutMessage(i.message)}`)
      .join('; '),
  )
}
