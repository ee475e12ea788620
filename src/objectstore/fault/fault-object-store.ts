/**
 * An object store that fails on purpose, around any other: for tests of what repositories do
 * when the network does. Per operation (optionally only for keys under a prefix) it injects:
 * - `fail`: the call throws `OBJECT_STORE_ERROR` and does nothing;
 * - `delay`: the call waits `delayMs`, then runs;
 * - `commitThenFail`: the call runs to completion, then throws `OBJECT_STORE_ERROR` as a client
 *   whose response timed out would (the ambiguous outcome retries must survive).
 *
 * Invariants: deterministic. Faults come from explicit `failNext` rules (first matching rule
 * first, each for `times` calls) or from a seeded schedule (`rates`); `calls` counts every call
 * by operation, faulted or not, so a test can assert "exactly one GET".
 */
import { CairnError } from '../../io/errors.js'
import { type SeededRandom, seededRandom } from '../../io/seeded-random.js'
import type { GetOptions, ListOptions, ListPage, ObjectBody, ObjectInfo, ObjectStore, PutOptions } from '../object-store.js'

export type ObjectStoreOperation = 'get' | 'put' | 'head' | 'list' | 'delete'
export type ObjectStoreFaultKind = 'fail' | 'delay' | 'commitThenFail'

export interface FaultRuleOptions {
  /** Only calls whose key (for `list`, whose prefix) starts with this. */
  keyPrefix?: string
  /** For `delay`; default 50. */
  delayMs?: number
  /** How many matching calls it applies to; default 1. */
  times?: number
}

export interface FaultObjectStoreOptions {
  /** Seed of the random schedule (required with `rates`). */
  seed?: number
  /** Per operation, the probability of each fault kind on any call (a seeded schedule). */
  rates?: Partial<Record<ObjectStoreOperation, Partial<Record<'fail' | 'commitThenFail', number>>>>
}

interface Rule {
  op: ObjectStoreOperation
  kind: ObjectStoreFaultKind
  keyPrefix: string
  delayMs: number
  left: number
}

const operations: ObjectStoreOperation[] = ['get', 'put', 'head', 'list', 'delete']

/**
 * @example
 * const store = new FaultObjectStore(new MemoryObjectStore())
 * store.failNext('put', 'commitThenFail', { keyPrefix: 'partitions/p1/latest.json' })
 * await assert.rejects(store.put('partitions/p1/latest.json', bytes)) // but it was written
 * assert.equal(store.calls.get, 0)
 */
export class FaultObjectStore implements ObjectStore {
  readonly inner: ObjectStore
  readonly url: string
  /** Calls made so far, by operation (faulted ones included). */
  readonly calls: Record<ObjectStoreOperation, number> = { get: 0, put: 0, head: 0, list: 0, delete: 0 }
  /** Faults injected so far, by kind. */
  readonly injected: Record<ObjectStoreFaultKind, number> = { fail: 0, delay: 0, commitThenFail: 0 }
  #rules: Rule[] = []
  readonly #rates: FaultObjectStoreOptions['rates']
  readonly #rng: SeededRandom | undefined

  constructor(inner: ObjectStore, options: FaultObjectStoreOptions = {}) {
    this.inner = inner
    this.url = inner.url
    this.#rates = options.rates
    if (options.rates !== undefined && options.seed === undefined) throw new Error('FaultObjectStore: rates need a seed, so a failing run can be replayed')
    this.#rng = options.seed === undefined ? undefined : seededRandom(options.seed >>> 0)
  }

  /** The next matching call(s) of `op` get `kind`. */
  failNext(op: ObjectStoreOperation, kind: ObjectStoreFaultKind, options: FaultRuleOptions = {}): this {
    this.#rules.push({ op, kind, keyPrefix: options.keyPrefix ?? '', delayMs: options.delayMs ?? 50, left: options.times ?? 1 })
    return this
  }

  /** Removes every rule (the seeded schedule stays). */
  heal(): void {
    this.#rules = []
  }

  resetCounts(): void {
    for (const op of operations) this.calls[op] = 0
  }

  get(key: string, options?: GetOptions): Promise<ObjectBody> {
    return this.#run('get', key, () => this.inner.get(key, options))
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<{ etag: string }> {
    return this.#run('put', key, () => this.inner.put(key, body, options))
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.#run('head', key, () => this.inner.head(key))
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.#run('list', prefix, () => this.inner.list(prefix, options))
  }

  delete(key: string): Promise<void> {
    return this.#run('delete', key, () => this.inner.delete(key))
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  async #run<T>(op: ObjectStoreOperation, key: string, call: () => Promise<T>): Promise<T> {
    this.calls[op] += 1
    const fault = this.#take(op, key)
    if (fault === undefined) return call()
    this.injected[fault.kind] += 1
    if (fault.kind === 'fail') throw injected(this.url, op, key, 'failed before reaching the store')
    if (fault.kind === 'delay') {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
      return call()
    }
    await call()
    throw injected(this.url, op, key, 'timed out after the store had done it')
  }

  #take(op: ObjectStoreOperation, key: string): { kind: ObjectStoreFaultKind; delayMs: number } | undefined {
    const index = this.#rules.findIndex((r) => r.op === op && key.startsWith(r.keyPrefix))
    if (index >= 0) {
      const rule = this.#rules[index]!
      rule.left -= 1
      if (rule.left <= 0) this.#rules.splice(index, 1)
      return rule
    }
    const rates = this.#rates?.[op]
    if (rates === undefined || this.#rng === undefined) return undefined
    const r = this.#rng.next()
    const fail = rates.fail ?? 0
    if (r < fail) return { kind: 'fail', delayMs: 0 }
    if (r < fail + (rates.commitThenFail ?? 0)) return { kind: 'commitThenFail', delayMs: 0 }
    return undefined
  }
}

function injected(url: string, op: ObjectStoreOperation, key: string, what: string): CairnError {
  return new CairnError('OBJECT_STORE_ERROR', `${op} ${key} in ${url} ${what} (injected fault): retry`, {
    context: { url, key, operation: op, injected: true },
  })
}
