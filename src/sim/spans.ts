// The simulated day as a sequence of spans: stretches of time in which the person does one
// thing (sleeps, sits, walks, rides a train) along one path. Every sensor reads the same
// spans, which is what keeps locations, activity states and acceleration consistent.
import type { Place } from './city.ts'
import { pointAlong, type LatLon, type Path } from './geo.ts'

/**
 * What the body (and the phone with it) does: `wander` is walking about inside a place,
 * `ride` a moving train, `halt` standing still on the way (a platform, a stop).
 */
export type Motion = 'sleep' | 'still' | 'wander' | 'walk' | 'run' | 'bike' | 'ride' | 'halt'

export interface Span {
  motion: Motion
  startMs: number
  /** Exclusive: the next span starts here. */
  endMs: number
  /** Travelled at constant speed from start to end; a single point for a stay. */
  path: Path
  /** The place of a stay (absent on the way). */
  place?: Place
  /** First span at a place after a trip to it. */
  arrival: boolean
}

/** Where the person is at a time inside the span. */
export function positionAt(span: Span, timeMs: number): LatLon {
  if (span.path.points.length === 1) return span.path.points[0]!
  const fraction = (timeMs - span.startMs) / (span.endMs - span.startMs)
  return pointAlong(span.path, fraction * span.path.lengthMeters)
}
