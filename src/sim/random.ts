// Seeded randomness for the simulator: pure-rand's xoroshiro128+ with the few draws the
// simulation needs. Every part of the simulation gets its own stream (a jump of 2^64 steps
// apart), so that, say, more acceleration hours never shift the routine or the locations.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator'

export interface Random {
  /** Uniform in [0, 1). */
  float(): number
  /** Uniform in [min, max). */
  between(min: number, max: number): number
  /** Uniform integer in [min, max]. */
  integer(min: number, max: number): number
  chance(probability: number): boolean
  /** Normal with mean 0 and the given standard deviation. */
  normal(standardDeviation?: number): number
  /** Exponential waiting time with the given mean. */
  exponential(mean: number): number
  /** One of the choices, with probability proportional to its weight. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T
}

/** The independent streams of one simulation. */
export interface RandomStreams {
  routine: Random
  location: Random
  activity: Random
  acceleration: Random
  /** Holidays and phone-off times (src/sim/life.ts). */
  life: Random
}

/** `seed` is a 32-bit integer; the same seed gives the same streams on every machine. */
export function randomStreams(seed: number): RandomStreams {
  const generator = xoroshiro128plus(seed)
  const next = (): Random => {
    const stream = randomFrom(generator.clone())
    generator.jump()
    return stream
  }
  return { routine: next(), location: next(), activity: next(), acceleration: next(), life: next() }
}

function randomFrom(generator: JumpableRandomGenerator): Random {
  // Box-Muller yields normals in pairs; the second one is kept for the next call.
  let spareNormal: number | undefined
  const float = () => uniformFloat64(generator)
  return {
    float,
    between: (min, max) => min + (max - min) * float(),
    integer: (min, max) => min + Math.floor((max - min + 1) * float()),
    chance: (probability) => float() < probability,
    normal(standardDeviation = 1) {
      if (spareNormal !== undefined) {
        const value = spareNormal
        spareNormal = undefined
        return value * standardDeviation
      }
      const radius = Math.sqrt(-2 * Math.log(1 - float()))
      const angle = 2 * Math.PI * float()
      spareNormal = radius * Math.sin(angle)
      return radius * Math.cos(angle) * standardDeviation
    },
    exponential: (mean) => -mean * Math.log(1 - float()),
    weighted(choices) {
      const total = choices.reduce((sum, [, weight]) => sum + weight, 0)
      let target = float() * total
      for (const [choice, weight] of choices) {
        target -= weight
        if (target < 0) return choice
      }
      return choices[choices.length - 1]![0]
    },
  }
}
