/**
 * Whether an object store really enforces conditional puts (s3rver and some S3-compatible stores
 * accept `If-None-Match`/`If-Match` and ignore them; a pointer updated there could regress).
 * Creates a probe object twice with ifNoneMatch and replaces it with a wrong ifMatch: both second
 * puts must fail with PRECONDITION_FAILED. The probe object is deleted afterwards.
 */
import { randomBytes } from 'node:crypto'
import { isCairnError } from '../io/errors.js'
import type { ObjectStore } from '../objectstore/index.js'

export const probePrefix = 'probes/'

/** @example if (!(await enforcesConditionalWrites(store))) throw ... */
export async function enforcesConditionalWrites(store: ObjectStore): Promise<boolean> {
  const key = `${probePrefix}conditional-${randomBytes(8).toString('hex')}`
  const body = new TextEncoder().encode('cairn conditional-write probe\n')
  try {
    const { etag } = await store.put(key, body, { condition: { ifNoneMatch: '*' } })
    if (!(await refused(() => store.put(key, body, { condition: { ifNoneMatch: '*' } })))) return false
    const wrongEtag = etag === '"0"' ? '"1"' : '"0"'
    return await refused(() => store.put(key, body, { condition: { ifMatch: wrongEtag } }))
  } finally {
    await store.delete(key).catch(() => undefined)
  }
}

async function refused(put: () => Promise<unknown>): Promise<boolean> {
  try {
    await put()
    return false
  } catch (e) {
    if (isCairnError(e) && e.code === 'PRECONDITION_FAILED') return true
    throw e
  }
}
