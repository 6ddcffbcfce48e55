// The simulator as a library: one person's samples, generated lazily in time order, so a
// benchmark can take what it needs in memory and the CLI can stream years to disk.
import { accelerationDuring, scheduleBursts } from './acceleration.ts'
import { activitySensor } from './activity.ts'
import { BERLIN, type City } from './city.ts'
import { localMidnight } from './clock.ts'
import { locationSensor } from './location.ts'
import { randomStreams } from './random.ts'
import { planDays, type DayPlan } from './routine.ts'
import type { Reading, SimulatedSample } from './samples.ts'

export interface SimulationOptions {
  /** Whole days to simulate, starting at local midnight of `startDate`. */
  days: number
  /** 32-bit integer; the same seed gives the same samples. Default 1. */
  seed?: number
  /** Local date the simulation starts on (YYYY-MM-DD). Default 2024-03-04, a Monday. */
  startDate?: string
  /** Hours of 50 Hz acceleration recorded per day, 0..24. Default 1. */
  accelerationHoursPerDay?: number
  city?: City
  /** Called with each day's plan before its samples are generated (progress reports). */
  onDay?: (day: DayPlan) => void
}

export const SIMULATION_DEFAULTS = { seed: 1, startDate: '2024-03-04', accelerationHoursPerDay: 1 } as const

/**
 * All samples of the simulated person, in time order, ids counting up from 1.
 *
 * @example
 * for (const sample of generateSamples({ days: 1, seed: 7 })) console.log(formatSampleLine(sample))
 */
export function generateSamples(options: SimulationOptions): Generator<SimulatedSample> {
  const { days, seed = SIMULATION_DEFAULTS.seed, startDate = SIMULATION_DEFAULTS.startDate, city = BERLIN } = options
  const accelerationHoursPerDay = options.accelerationHoursPerDay ?? SIMULATION_DEFAULTS.accelerationHoursPerDay
  // Checked here, not inside the generator, so that bad options throw at the call.
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`days must be a whole number >= 1, not ${days}`)
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 32) throw new RangeError(`seed must be a 32-bit integer, not ${seed}`)
  if (!(accelerationHoursPerDay >= 0 && accelerationHoursPerDay <= 24)) {
    throw new RangeError(`acceleration hours per day must be within 0..24, not ${accelerationHoursPerDay}`)
  }
  localMidnight(city.timeZone, startDate) // throws on a date that is not YYYY-MM-DD
  return samplesOf({ days, seed, startDate, city, accelerationHoursPerDay, onDay: options.onDay })
}

function* samplesOf(options: Required<Omit<SimulationOptions, 'onDay'>> & Pick<SimulationOptions, 'onDay'>): Generator<SimulatedSample> {
  const { days, seed, startDate, city, accelerationHoursPerDay } = options
  const random = randomStreams(seed)
  const locationDuring = locationSensor(random.location)
  const activityDuring = activitySensor(random.activity)
  let nextId = 1
  for (const day of planDays(city, startDate, days, random.routine)) {
    options.onDay?.(day)
    const bursts = scheduleBursts(day, accelerationHoursPerDay, random.acceleration)
    for (const span of day.spans) {
      const readings = mergeByTime([locationDuring(span), activityDuring(span), accelerationDuring(span, bursts, random.acceleration)])
      for (const reading of readings) {
        // Readings are fresh objects made for this sample: numbering them in place saves a copy per sample.
        const sample = reading as SimulatedSample
        sample.id = nextId++
        yield sample
      }
    }
  }
}

/** Interleaves time-ordered readings into one time-ordered sequence (ties: in source order). */
function* mergeByTime(sources: Array<Iterator<Reading>>): Generator<Reading> {
  const heads = sources.map((source) => source.next())
  for (;;) {
    let earliest = -1
    for (let index = 0; index < heads.length; index++) {
      const head = heads[index]!
      if (!head.done && (earliest < 0 || head.value.timeMs < (heads[earliest]!.value as Reading).timeMs)) earliest = index
    }
    if (earliest < 0) return
    yield heads[earliest]!.value as Reading
    heads[earliest] = sources[earliest]!.next()
  }
}
