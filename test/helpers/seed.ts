/**
 * The seed of a randomized test: CAIRN_SEED when set, otherwise a fresh one; a failure names it
 * so the run can be repeated (`CAIRN_SEED=<seed> node scripts/test.mjs <file>`).
 */
import fc from 'fast-check'

export function testSeed(): number {
  return process.env.CAIRN_SEED !== undefined ? Number(process.env.CAIRN_SEED) : Math.floor(Math.random() * 2 ** 31)
}

/** Runs `body(seed)`; a failure is rethrown with the seed in its message. */
export async function withSeed<T>(body: (seed: number) => Promise<T>, seed = testSeed()): Promise<T> {
  try {
    return await body(seed)
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    throw new Error(`failed with CAIRN_SEED=${seed} (rerun with it): ${message}`, { cause: e })
  }
}

/** `fc.assert` seeded from CAIRN_SEED (FC_PATH replays one shrunk case), naming the seed on failure. */
export async function assertProperty<Ts extends [unknown, ...unknown[]]>(
  property: fc.IAsyncProperty<Ts>,
  parameters: fc.Parameters<Ts> = {},
): Promise<void> {
  await withSeed((seed) =>
    fc.assert(property, { ...parameters, seed, ...(process.env.FC_PATH !== undefined && { path: process.env.FC_PATH }) }),
  )
}
