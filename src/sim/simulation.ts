// The simulator as a library: one person's samples, generated lazily in time order, so a
// benchmark can take what it needs in memory and the CLI can stream years to disk.
import { accelerationDuring, scheduleBursts } from './acceleration.ts'
import { activitySensor } from './activity.ts'
import { BERLIN, type City } from './city.ts'
import { localMidnight } from './clock.ts'
import { planLife, type LifePlan } from './life.ts'
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
  const life = planLife(city, startDate, days, random.life)
  let nextId = 1
  for (const day of planDays(city, startDate, days, random.routine, life.holidayDays)) {
    options.onDay?.(day)
    const bursts = scheduleBursts(day, accelerationHoursPerDay, random.acceleration)
    for (const span of day.spans) {
      const phoneOnMs = life.phoneOff.find(([, onMs]) => onMs >= span.startMs && onMs < span.endMs)?.[1]
      const sources = [locationDuring(span, phoneOnMs), activityDuring(span), accelerationDuring(span, bursts, random.acceleration)]
      const readings = mergeByTime(sources.map((source) => whilePhoneOn(source, life.phoneOff)))
      for (const reading of readings) {
        // Readings are fresh objects made for this sample: numbering them in place saves a copy per sample.
        const sample = reading as SimulatedSample
        sample.id = nextId++
        yield sample
      }
    }
  }
}

/** The readings taken while the phone was on (the sensors run on; nothing is recorded). */
function* whilePhoneOn(readings: Iterator<Reading>, phoneOff: LifePlan['phoneOff']): Generator<Reading> {
  for (let next = readings.next(); !next.done; next = readings.next()) {
    const timeMs = next.value.timeMs
    if (!phoneOff.some(([offMs, onMs]) => timeMs >= offMs && timeMs < onMs)) yield next.value
  }
}

export interface GroundTruthStay {
  place: string
  latitude: number
  longitude: number
  /** [fromMs, toMs): at the place with the phone on (time with the phone off is not here). */
  fromMs: number
  toMs: number
}

export interface GroundTruth {
  stays: GroundTruthStay[]
  phoneOff: Array<[number, number]>
}

/**
 * Where the simulated person really was, and when the phone was off: the same plan as
 * generateSamples() with the same options, without the samples.
 */
export function groundTruth(options: SimulationOptions): GroundTruth {
  const { days, seed = SIMULATION_DEFAULTS.seed, startDate = SIMULATION_DEFAULTS.startDate, city = BERLIN } = options
  const random = randomStreams(seed)
  const life = planLife(city, startDate, days, random.life)
  const stays: GroundTruthStay[] = []
  for (const day of planDays(city, startDate, days, random.routine, life.holidayDays)) {
    for (const span of day.spans) {
      if (!span.place) continue
      // The span minus the times the phone was off.
      let pieces: Array<[number, number]> = [[span.startMs, span.endMs]]
      for (const off of life.phoneOff) pieces = pieces.flatMap((piece) => withoutInterval(piece, off))
      for (const [fromMs, toMs] of pieces) {
        const previous = stays[stays.length - 1]
        if (previous && previous.place === span.place.name && previous.toMs === fromMs) previous.toMs = toMs
        else stays.push({ place: span.place.name, latitude: span.place.latitude, longitude: span.place.longitude, fromMs, toMs })
      }
    }
  }
  return { stays, phoneOff: life.phoneOff }
}

/** [from, to) minus [cutFrom, cutTo): none, one or two intervals. */
function withoutInterval([from, to]: [number, number], [cutFrom, cutTo]: [number, number]): Array<[number, number]> {
  if (cutTo <= from || cutFrom >= to) return [[from, to]]
  const left: Array<[number, number]> = cutFrom > from ? [[from, cutFrom]] : []
  const right: Array<[number, number]> = cutTo < to ? [[cutTo, to]] : []
  return [...left, ...right]
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
