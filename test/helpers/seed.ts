/**
 * Seeds of randomized tests: `CAIRN_SEED` when set, so that a failing run can be replayed;
 * otherwise one picked at random. `withSeed` names the seed in the error of a failing run
 * (`CAIRN_SEED=<seed> node scripts/test.mjs <file>` repeats it).
 */
import { randomInt } from 'node:crypto'
import fc from 'fast-check'

/** `CAIRN_SEED` when set, else `fallback` when given, else a random seed. */
export function testSeed(fallback?: number): number {
  const given = process.env.CAIRN_SEED
  if (given === undefined || given === '') return fallback ?? randomInt(0, 2 ** 31)
  const seed = Number(given)
  if (!Number.isSafeInteger(seed)) throw new Error(`CAIRN_SEED=${given} is not an integer`)
  return seed
}

/** `[CAIRN_SEED]` when set, else `defaults` (a fixed list a test sweeps). */
export function testSeeds(defaults: number[]): number[] {
  return process.env.CAIRN_SEED !== undefined && process.env.CAIRN_SEED !== '' ? [testSeed()] : defaults
}

/** Runs `body`; a failure is rethrown naming the seed and how to rerun with it. */
export async function withSeed<T>(seed: number, body: (seed: number) => Promise<T> | T): Promise<T> {
  try {
    if (process.env.CAIRN_DEBUG !== undefined) console.error('seed', seed)
    return await body(seed)
  } catch (e) {
    throw new Error(`seed ${seed} failed (rerun with CAIRN_SEED=${seed}): ${(e as Error).message}`, { cause: e })
  }
}

/** `fc.assert` seeded from CAIRN_SEED (FC_PATH replays one shrunk case), naming the seed on failure. */
export async function assertProperty<Ts extends [unknown, ...unknown[]]>(
  property: fc.IAsyncProperty<Ts>,
  parameters: fc.Parameters<Ts> = {},
): Promise<void> {
  const seed = testSeed()
  await withSeed(seed, () => fc.assert(property, { ...parameters, seed, ...(process.env.FC_PATH !== undefined && { path: process.env.FC_PATH }) }))
}
