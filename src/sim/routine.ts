// The person's week: weekdays at the office (sometimes lunch out, the gym, the supermarket,
// friends or an evening run), weekends at the market, parks, a cafe, friends or the parents.
// Each day is planned in local clock hours with seeded variation and turned into spans that
// cover the day from local midnight to the next without a gap.
import { localMidnight, atLocalHour, localWeekday } from './clock.ts'
import type { City, Place, PlaceName } from './city.ts'
import { pathThrough } from './geo.ts'
import type { Random } from './random.ts'
import type { Motion, Span } from './spans.ts'
import { tripSpans, type TravelMode } from './trips.ts'

export interface DayPlan {
  /** 0 for the first simulated day. */
  index: number
  /** Local midnight that starts the day. */
  startMs: number
  /** Local midnight that ends it (23 or 25 hours later when clocks change). */
  endMs: number
  /** Back to back from startMs to endMs. */
  spans: Span[]
}

/** One move of the day: go to a place, leaving at a clock hour or after a stay of some minutes. */
interface Outing {
  to: PlaceName
  mode: TravelMode
  leaveAtHour?: number
  stayMinutes?: number
}

const MINUTE_MS = 60_000

/**
 * Plans `days` days starting with the local date `startDate` (YYYY-MM-DD), one at a time.
 * Days in `holidayDays` (indexes) are spent at the holiday place from midnight to midnight:
 * the journey there and back happens while the phone is off (src/sim/life.ts).
 */
export function* planDays(city: City, startDate: string, days: number, random: Random, holidayDays: ReadonlySet<number> = new Set()): Generator<DayPlan> {
  for (let index = 0; index < days; index++) {
    const startMs = localMidnight(city.timeZone, addDays(startDate, index))
    const endMs = localMidnight(city.timeZone, addDays(startDate, index + 1))
    const spans = holidayDays.has(index) ? holidaySpans(city, startMs, endMs, random) : planDay(city, startMs, endMs, random)
    yield { index, startMs, endMs, spans }
  }
}

/** A lazy day away: asleep until late, awake at the holiday flat (the beach is next door). */
function holidaySpans(city: City, dayStartMs: number, dayEndMs: number, random: Random): Span[] {
  const at = (hour: number) => Math.round(atLocalHour(city.timeZone, dayStartMs, hour))
  return staySpans(city.places.holiday, dayStartMs, dayEndMs, false, [[dayStartMs, at(random.between(8.5, 10))], [at(random.between(23, 23.9)), dayEndMs]], random)
}

export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10)
}

function planDay(city: City, dayStartMs: number, dayEndMs: number, random: Random): Span[] {
  const at = (hour: number) => Math.round(atLocalHour(city.timeZone, dayStartMs, hour))
  const weekday = localWeekday(city.timeZone, dayStartMs)
  const weekend = weekday === 0 || weekday === 6
  const wakeMs = at(weekend ? random.between(8, 9.6) : random.between(6.5, 7.4))
  let bedtimeMs = at(random.between(22.4, 23.7))
  const outings = weekend ? weekendOutings(weekday, random) : weekdayOutings(weekday, random)

  const home = city.places.home
  const spans: Span[] = []
  let here: Place = home
  let clockMs = dayStartMs
  let arrived = false
  for (const outing of outings) {
    let departMs = outing.leaveAtHour !== undefined ? at(outing.leaveAtHour) : clockMs + Math.round((outing.stayMinutes ?? 0) * MINUTE_MS)
    departMs = Math.max(departMs, clockMs + 5 * MINUTE_MS) // a few minutes at least wherever one goes
    // Running late: an outing that would start this close to midnight is dropped; going home never is.
    if (outing.to !== 'home' && departMs > dayEndMs - 150 * MINUTE_MS) continue
    spans.push(...staySpans(here, clockMs, departMs, arrived, [[dayStartMs, wakeMs]], random))
    const trip = tripSpans(here, city.places[outing.to], outing.mode, departMs, random)
    spans.push(...trip)
    clockMs = trip[trip.length - 1]!.endMs
    here = city.places[outing.to]
    arrived = true
  }
  if (here !== home) throw new Error(`the plan of ${new Date(dayStartMs).toISOString()} does not end at home`)
  bedtimeMs = Math.min(dayEndMs, Math.max(bedtimeMs, clockMs + 20 * MINUTE_MS))
  spans.push(...staySpans(home, clockMs, dayEndMs, arrived, [[dayStartMs, wakeMs], [bedtimeMs, dayEndMs]], random))
  if (clockMs >= dayEndMs) throw new Error(`the plan of ${new Date(dayStartMs).toISOString()} runs past midnight`)
  return spans
}

function weekdayOutings(weekday: number, random: Random): Outing[] {
  const commute: TravelMode = random.chance(0.3) ? 'bike' : 'transit'
  const outings: Outing[] = [{ to: 'work', mode: commute, leaveAtHour: random.between(7.7, 8.8) }]
  if (random.chance(0.6)) {
    outings.push({ to: 'lunch', mode: 'walk', leaveAtHour: random.between(12, 13) }, { to: 'work', mode: 'walk', stayMinutes: random.between(25, 50) })
  }
  const leaveWorkHour = random.between(16.5, 18.5)
  const mondayOrWednesday = weekday === 1 || weekday === 3
  if (random.chance(mondayOrWednesday ? 0.6 : 0.15)) {
    const mode: TravelMode = commute === 'bike' ? 'bike' : 'transit'
    outings.push({ to: 'gym', mode, leaveAtHour: leaveWorkHour }, { to: 'home', mode, stayMinutes: random.between(60, 100) })
  } else if (random.chance(weekday === 4 ? 0.35 : 0.08)) {
    outings.push({ to: 'friends', mode: 'transit', leaveAtHour: leaveWorkHour }, { to: 'home', mode: 'transit', leaveAtHour: random.between(21.5, 23.2) })
  } else {
    if (random.chance(0.35)) {
      outings.push({ to: 'supermarket', mode: commute, leaveAtHour: leaveWorkHour }, { to: 'home', mode: 'walk', stayMinutes: random.between(10, 25) })
    } else {
      outings.push({ to: 'home', mode: commute, leaveAtHour: leaveWorkHour })
    }
    // Tuesday and Thursday evenings: a run to the park and back.
    if ((weekday === 2 || weekday === 4) && random.chance(0.45)) {
      outings.push({ to: 'runningPark', mode: 'run', leaveAtHour: random.between(19, 20) }, { to: 'home', mode: 'run', stayMinutes: random.between(3, 8) })
    }
  }
  return outings
}

function weekendOutings(weekday: number, random: Random): Outing[] {
  const outings: Outing[] = []
  if (weekday === 6) {
    if (random.chance(0.8)) {
      outings.push({ to: 'supermarket', mode: 'walk', leaveAtHour: random.between(10, 11.5) }, { to: 'home', mode: 'walk', stayMinutes: random.between(15, 35) })
    }
    if (random.chance(0.55)) {
      const mode: TravelMode = random.chance(0.5) ? 'bike' : 'transit'
      outings.push({ to: 'bigPark', mode, leaveAtHour: random.between(14, 15.5) }, { to: 'home', mode, stayMinutes: random.between(90, 180) })
    }
    if (random.chance(0.5)) {
      outings.push({ to: 'friends', mode: 'transit', leaveAtHour: random.between(19, 20.5) }, { to: 'home', mode: 'transit', leaveAtHour: random.between(22.5, 23.2) })
    }
  } else {
    if (random.chance(0.5)) {
      outings.push({ to: 'runningPark', mode: 'run', leaveAtHour: random.between(9.7, 10.5) }, { to: 'home', mode: 'run', stayMinutes: random.between(3, 10) })
    }
    if (random.chance(0.35)) {
      outings.push({ to: 'parents', mode: 'transit', leaveAtHour: random.between(12.5, 14) }, { to: 'home', mode: 'transit', stayMinutes: random.between(180, 300) })
    } else if (random.chance(0.6)) {
      outings.push({ to: 'cafe', mode: 'walk', leaveAtHour: random.between(11, 15) }, { to: 'home', mode: 'walk', stayMinutes: random.between(50, 120) })
    }
  }
  return outings
}

/** Mean minutes of sitting still between two walks about a place, by place. */
const STILL_MINUTES: Partial<Record<PlaceName, number>> = { work: 45, home: 30, gym: 8, lunch: 20 }

/**
 * A stay at a place: mostly still, now and then a few minutes of walking about, asleep in the
 * sleep windows, and at the gym one stretch on the treadmill (running without moving on the map).
 */
function staySpans(place: Place, startMs: number, endMs: number, arrived: boolean, sleepWindows: Array<[number, number]>, random: Random): Span[] {
  const spans: Span[] = []
  const at = pathThrough([place])
  let clockMs = startMs
  let treadmillDone = place.name !== 'gym'
  const push = (motion: Motion, untilMs: number) => {
    untilMs = Math.round(untilMs) // sample times are whole milliseconds
    if (untilMs <= clockMs) return
    spans.push({ motion, startMs: clockMs, endMs: untilMs, path: at, place, arrival: arrived && spans.length === 0 })
    clockMs = untilMs
  }
  while (clockMs < endMs) {
    const window = sleepWindows.find(([from, to]) => clockMs >= from && clockMs < to)
    if (window) {
      push('sleep', Math.min(endMs, window[1]))
      continue
    }
    const nextSleepMs = Math.min(endMs, ...sleepWindows.map(([from]) => from).filter((from) => from > clockMs))
    if (!treadmillDone && clockMs - startMs > 5 * MINUTE_MS) {
      push('run', Math.min(nextSleepMs, clockMs + random.between(15, 30) * MINUTE_MS))
      treadmillDone = true
      continue
    }
    push('still', Math.min(nextSleepMs, clockMs + random.exponential(STILL_MINUTES[place.name] ?? 15) * MINUTE_MS))
    push('wander', Math.min(nextSleepMs, clockMs + random.between(1, 4) * MINUTE_MS))
  }
  return spans
}

