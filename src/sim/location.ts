// Significant-change locations, the way a phone reports them to save power: a fix only once
// the device is about 500 m (480-560 m, drawn anew each time) from where the last fix was
// taken, each fix off by up to 30 m. While the person stays somewhere, jitter below the
// threshold reports nothing; a "visit" fix usually (3 in 4) follows shortly after arriving,
// and now and then a cell-tower fix lands 600-1200 m off and is corrected minutes later.
// At home, wifi positioning now and then reports the flat 100-250 m off (noisy fixes that
// must not make a second home), and a phone switched back on reports where it is at once.
import { destination, distanceMeters, type LatLon } from './geo.ts'
import type { Random } from './random.ts'
import type { Reading } from './samples.ts'
import { positionAt, type Span } from './spans.ts'
import type { Place } from './city.ts'

export const LOCATION_RULES = {
  thresholdMeters: [480, 560],
  maxErrorMeters: 30,
  visitFixChance: 0.75,
  /** Chance of a cell-tower fix per hour spent at a place. */
  cellFixPerHour: 0.02,
  cellFixOffsetMeters: [600, 1200],
  /** Chance of a noisy wifi fix per hour spent at home, and how far off it lands. */
  homeNoiseFixPerHour: 0.08,
  homeNoiseOffsetMeters: [100, 250],
} as const

/** Seconds between two looks at the position while moving (at 24 m/s: 120 m). */
const MOVING_STEP_MS = 5000

/**
 * Returns the location readings of each span in turn; state carries over from span to span.
 * `phoneOnMs` (inside the span): the phone was off until then and takes a fix on starting.
 */
export function locationSensor(random: Random): (span: Span, phoneOnMs?: number) => Generator<Reading> {
  let lastFixAt: LatLon | undefined // the true position at the last fix
  let thresholdMeters = newThreshold()

  function newThreshold(): number {
    return random.between(...LOCATION_RULES.thresholdMeters)
  }

  function fix(truePosition: LatLon, timeMs: number, reported: LatLon = withError(truePosition)): Reading {
    lastFixAt = truePosition
    thresholdMeters = newThreshold()
    return { kind: 'location', timeMs, data: { latitude: round6(reported.latitude), longitude: round6(reported.longitude) } }
  }

  function withError(position: LatLon): LatLon {
    const errorMeters = Math.min(LOCATION_RULES.maxErrorMeters, Math.abs(random.normal(12)))
    return destination(position, random.between(0, 360), errorMeters)
  }

  return function* readingsDuring(span: Span, phoneOnMs?: number): Generator<Reading> {
    if (phoneOnMs === undefined) {
      yield* spanFixes(span)
      return
    }
    // Readings before the phone came on are dropped by the caller; the fix on starting comes
    // first among the rest.
    let restarted = false
    for (const reading of spanFixes(span)) {
      if (!restarted && reading.timeMs >= phoneOnMs) {
        yield fix(positionAt(span, phoneOnMs), phoneOnMs)
        restarted = true
      }
      yield reading
    }
    if (!restarted) yield fix(positionAt(span, phoneOnMs), phoneOnMs)
  }

  function* spanFixes(span: Span): Generator<Reading> {
    if (!lastFixAt) {
      // Monitoring starts with one fix of wherever the device is.
      yield fix(positionAt(span, span.startMs), span.startMs)
    }
    if (span.place) {
      yield* stayFixes(span, span.place)
      return
    }
    for (let timeMs = span.startMs; timeMs < span.endMs; timeMs += MOVING_STEP_MS) {
      const position = positionAt(span, timeMs)
      if (distanceMeters(position, lastFixAt!) >= thresholdMeters) yield fix(position, timeMs)
    }
  }

  function* stayFixes(span: Span, place: Place): Generator<Reading> {
    let clockMs = span.startMs
    if (span.arrival && random.chance(LOCATION_RULES.visitFixChance)) {
      const visitMs = span.startMs + Math.round(random.between(20_000, 180_000))
      if (visitMs >= span.endMs) return
      yield fix(place, visitMs)
      clockMs = visitMs + 60_000
    }
    const hours = (span.endMs - clockMs) / 3_600_000
    if (hours <= 0) return
    if (!random.chance(Math.min(1, hours * LOCATION_RULES.cellFixPerHour))) {
      if (place.name === 'home' && random.chance(Math.min(1, hours * LOCATION_RULES.homeNoiseFixPerHour))) {
        const noisyMs = Math.round(random.between(clockMs, span.endMs))
        yield fix(place, noisyMs, destination(place, random.between(0, 360), random.between(...LOCATION_RULES.homeNoiseOffsetMeters)))
      }
      return
    }
    const cellFixMs = Math.round(random.between(clockMs, span.endMs))
    const offset = destination(place, random.between(0, 360), random.between(...LOCATION_RULES.cellFixOffsetMeters))
    // A wrong fix that stays closer than the threshold to the last one would not be reported at all.
    if (distanceMeters(offset, lastFixAt!) < thresholdMeters) return
    // The device believes the wrong fix: the next one comes once it seems ~500 m away from it.
    yield fix(offset, cellFixMs, offset)
    // Corrected within minutes, and before the stay's next span at the latest (a long stay,
    // a holiday, would otherwise sit at the wrong place until the person moves on).
    const correctedMs = Math.min(cellFixMs + Math.round(random.between(60_000, 600_000)), span.endMs - 1)
    if (correctedMs > cellFixMs) yield fix(place, correctedMs)
  }
}

function round6(degrees: number): number {
  // 1e-6 degrees is about 10 cm: far below the error of the fix, and keeps lines short.
  return Math.round(degrees * 1e6) / 1e6
}
