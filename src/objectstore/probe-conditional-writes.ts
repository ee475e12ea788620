/**
 * Does this store really enforce conditional puts? Some S3-compatible servers accept
 * `If-None-Match`/`If-Match` and ignore them (s3rver): every compare-and-swap then "wins", and a
 * pointer protected by it can regress. The repository asks this once at first use.
 *
 * Invariants: the probe writes only under `probeKeyPrefix`, one fresh key per call, and deletes
 * it whatever happens; any failure other than a refused precondition is rethrown (the store is
 * unreachable, not "unsupported").
 */
import { randomUUID } from 'node:crypto'
import { isCairnError } from '../io/errors.js'
import type { ObjectStore, PutCondition } from './object-store.js'

/** Where probes write; reserved in every repository. */
export const probeKeyPrefix = '_cairn/probe/'

export interface ProbeResult {
  enforced: boolean
  /** Which check the store failed, when `enforced` is false. */
  reason?: string
}

/**
 * Puts a fresh probe key with `ifNoneMatch: '*'`, again (must fail), then with `ifMatch` of a
 * made-up etag (must fail), then with `ifMatch` of its real etag (must succeed).
 *
 * @example
 * const { enforced } = await probeConditionalWrites(store)
 * if (!enforced && !allowUnsafe) throw new CairnError('CONDITIONAL_WRITES_UNSUPPORTED', ...)
 */
export async function probeConditionalWrites(store: ObjectStore): Promise<ProbeResult> {
  const key = `${probeKeyPrefix}${randomUUID()}`
  const enc = new TextEncoder()
  const refused = async (body: string, condition: PutCondition): Promise<boolean> => {
    try {
      await store.put(key, enc.encode(body), { condition })
      return false
    } catch (e) {
      if (isCairnError(e, 'PRECONDITION_FAILED')) return true
      throw e
    }
  }
  try {
    const { etag } = await store.put(key, enc.encode('created'), { condition: { ifNoneMatch: '*' } })
    if (!(await refused('created again', { ifNoneMatch: '*' }))) return { enforced: false, reason: 'a put with If-None-Match: * replaced an existing object' }
    if (!(await refused('stale', { ifMatch: `cairn-probe-${randomUUID().replaceAll('-', '')}` }))) {
      return { enforced: false, reason: 'a put with If-Match of a wrong etag replaced the object' }
    }
    await store.put(key, enc.encode('replaced'), { condition: { ifMatch: etag } })
    return { enforced: true }
  } finally {
    await store.delete(key).catch(() => undefined)
  }
}
