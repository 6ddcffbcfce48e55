// Trips between places: a plausible street-like route (not a straight line) travelled on foot,
// running, by bike, or by public transport with walks to and from the stations, waits on the
// platform and stops along the line.
import type { Place } from './city.ts'
import { bearingDegrees, destination, distanceMeters, pathThrough, pointAlong, subPath, type LatLon, type Path } from './geo.ts'
import type { Random } from './random.ts'
import type { Motion, Span } from './spans.ts'

export type TravelMode = 'walk' | 'run' | 'bike' | 'transit'

/** Below this distance nobody takes the train: the trip is walked. */
const SHORTEST_TRANSIT_METERS = 1500

/** The spans of one trip, starting at `departMs`; the last one ends on arrival. */
export function tripSpans(from: Place, to: Place, mode: TravelMode, departMs: number, random: Random): Span[] {
  const spans: Span[] = []
  let clockMs = departMs
  const travel = (motion: Motion, path: Path, metersPerSecond: number) => {
    const endMs = clockMs + Math.max(1000, Math.round((path.lengthMeters / metersPerSecond) * 1000))
    spans.push({ motion, startMs: clockMs, endMs, path, arrival: false })
    clockMs = endMs
  }
  const pause = (motion: Motion, at: LatLon, durationMs: number) => {
    const endMs = clockMs + Math.round(durationMs)
    spans.push({ motion, startMs: clockMs, endMs, path: pathThrough([at]), arrival: false })
    clockMs = endMs
  }

  const straightMeters = distanceMeters(from, to)
  if (mode === 'transit' && straightMeters >= SHORTEST_TRANSIT_METERS) {
    const heading = bearingDegrees(from, to)
    const boardAt = destination(from, heading + random.between(-35, 35), random.between(300, 650))
    const leaveAt = destination(to, heading + 180 + random.between(-35, 35), random.between(200, 500))
    travel('walk', streetRoute(from, boardAt, random, 0.15), walkingSpeed(random))
    pause('halt', boardAt, random.between(1, 7) * 60_000) // waiting on the platform
    const line = streetRoute(boardAt, leaveAt, random, 0.08)
    // Regional trains stop rarely and run fast; city lines stop every kilometre or so.
    const regional = line.lengthMeters > 10_000
    let rodeMeters = 0
    while (rodeMeters < line.lengthMeters) {
      const hopMeters = Math.min(line.lengthMeters - rodeMeters, regional ? random.between(3000, 7000) : random.between(800, 1600))
      travel('ride', subPath(line, rodeMeters, rodeMeters + hopMeters), regional ? random.between(17, 24) : random.between(8, 13))
      rodeMeters += hopMeters
      if (rodeMeters < line.lengthMeters) pause('halt', pointAlong(line, rodeMeters), random.between(20, 50) * 1000) // a stop
    }
    travel('walk', streetRoute(leaveAt, to, random, 0.15), walkingSpeed(random))
  } else if (mode === 'run') {
    travel('run', streetRoute(from, to, random, 0.35), random.between(2.5, 3.3))
  } else if (mode === 'bike') {
    travel('bike', streetRoute(from, to, random, 0.12), random.between(4.2, 5.6))
  } else {
    travel('walk', streetRoute(from, to, random, 0.15), walkingSpeed(random))
  }
  return spans
}

function walkingSpeed(random: Random): number {
  return Math.min(1.8, Math.max(1, 1.35 + random.normal(0.12)))
}

/**
 * A route from a to b that bends away from the straight line the way streets do: points
 * every ~250 m, pushed sideways by a smooth bow (up to `bow` times the distance) plus a
 * little noise.
 */
function streetRoute(a: LatLon, b: LatLon, random: Random, bow: number): Path {
  const meters = distanceMeters(a, b)
  const heading = bearingDegrees(a, b)
  const pieces = Math.max(2, Math.ceil(meters / 250))
  const bowMeters = meters * random.between(-bow, bow)
  const points: LatLon[] = [a]
  for (let index = 1; index < pieces; index++) {
    const fraction = index / pieces
    const onLine = destination(a, heading, meters * fraction)
    const sideways = bowMeters * Math.sin(Math.PI * fraction) + random.normal(15)
    points.push(destination(onLine, heading + 90, sideways))
  }
  points.push(b)
  return pathThrough(points)
}
