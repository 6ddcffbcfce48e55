// What real lives and real phones add to the weekly routine (src/sim/routine.ts): a week of
// holiday away from the city each quarter, nights when the phone is off (flat battery, off
// for the night), and the phone off on the journey to the holiday and back. While the phone
// is off it records nothing at all: no location, no activity, no acceleration.
import { localMidnight } from './clock.ts'
import type { City } from './city.ts'
import type { Random } from './random.ts'
import { addDays } from './routine.ts'

export interface LifePlan {
  /** Indexes of the days spent at the holiday place. */
  holidayDays: ReadonlySet<number>
  /** [from, to) in ms, in time order, not overlapping: the phone records nothing then. */
  phoneOff: Array<[number, number]>
}

export const LIFE_RULES = {
  /** A simulation of at least this many days has a holiday ... */
  holidayFromDays: 60,
  /** ... starting on this day (a Monday when the simulation starts on one) ... */
  holidayFirstDay: 42,
  /** ... lasting this many days. */
  holidayDays: 7,
  /** Chance that the phone is off for a night. */
  phoneOffNightChance: 0.06,
} as const

const HOUR_MS = 3_600_000

export function planLife(city: City, startDate: string, days: number, random: Random): LifePlan {
  const midnight = (index: number) => localMidnight(city.timeZone, addDays(startDate, index))
  const holidayDays = new Set<number>()
  const phoneOff: Array<[number, number]> = []
  const first = LIFE_RULES.holidayFirstDay
  const last = first + LIFE_RULES.holidayDays // the first day back home
  if (days >= LIFE_RULES.holidayFromDays) {
    for (let index = first; index < last; index++) holidayDays.add(index)
  }
  // Night n is the one that ends day n (the last day's night is outside the simulation).
  for (let night = 0; night < days - 1; night++) {
    const switchMs = midnight(night + 1)
    if (holidayDays.size > 0 && (night + 1 === first || night + 1 === last)) {
      // The overnight journey: phone off from the evening before until the next morning.
      phoneOff.push([switchMs - Math.round(random.between(2, 4) * HOUR_MS), switchMs + Math.round(random.between(8, 11) * HOUR_MS)])
    } else if (random.chance(LIFE_RULES.phoneOffNightChance)) {
      // Asleep anyway: off from late evening until after waking up.
      phoneOff.push([switchMs - Math.round(random.between(0.5, 1.5) * HOUR_MS), switchMs + Math.round(random.between(7, 9) * HOUR_MS)])
    }
  }
  return { holidayDays, phoneOff }
}
