/**
 * The seed of a randomized test: `CAIRN_SEED` when set, otherwise a fresh one; `withSeed` names
 * it in the error of a failing run, so the run can be replayed with CAIRN_SEED=<seed>.
 */

/** `CAIRN_SEED` when set (an integer), otherwise a random 31-bit seed. */
export function testSeed(): number {
  const given = process.env.CAIRN_SEED
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 31)
  const seed = Number(given)
  if (!Number.isSafeInteger(seed)) throw new Error(`CAIRN_SEED=${given} is not an integer`)
  return seed
}

/** Runs `fn(seed)`; a failure is rethrown with the seed and how to replay it in its message. */
export async function withSeed<T>(seed: number, fn: (seed: number) => Promise<T> | T): Promise<T> {
  try {
    return await fn(seed)
  } catch (e) {
    throw new Error(`failed with seed ${seed} (rerun with CAIRN_SEED=${seed}): ${(e as Error).message}`, { cause: e })
  }
}
