/**
 * A small seeded PRNG (mulberry32) for the crash model: the same seed and the same operations
 * give the same survivors after a power loss, so a failing run can be replayed from its seed.
 */
import { randomInt } from 'node:crypto'
import { assert } from './assert.js'

export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [lo, hi], both included. */
  int(lo: number, hi: number): number
}

/** Seeds are 32-bit unsigned integers. */
export const seedMax = 0xffff_ffff

/** @example const rng = seededRandom(42); rng.int(0, 3) */
export function seededRandom(seed: number): SeededRandom {
  assert(Number.isInteger(seed) && seed >= 0 && seed <= seedMax, `seed must be an integer in 0..${seedMax}, got ${seed}`)
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) }
}

/**
 * The seed to use when a caller gives none: `CAIRN_SEED` when set (so a whole test run can be
 * replayed), else a random one.
 */
export function defaultSeed(): number {
  const fromEnv = process.env.CAIRN_SEED
  if (fromEnv === undefined || fromEnv === '') return randomInt(0, seedMax)
  const seed = Number(fromEnv)
  assert(Number.isInteger(seed) && seed >= 0 && seed <= seedMax, `CAIRN_SEED must be an integer in 0..${seedMax}, got ${fromEnv}`)
  return seed
}
