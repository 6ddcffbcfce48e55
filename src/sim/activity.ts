// Activity states as a phone's motion coprocessor reports them: a new state a few seconds
// after the motion changes, then again every few seconds (moving) to many minutes (asleep).
// The flags are not exclusive, and the classifier is not always sure: a walk reads mostly
// `walking`, sometimes `walking`+`unknown`, `unknown` alone or nothing at all.
import type { Random } from './random.ts'
import type { ActivityData, Reading } from './samples.ts'
import type { Motion, Span } from './spans.ts'

const state = (flags: Partial<ActivityData>): ActivityData => ({ unknown: false, stationary: false, walking: false, running: false, ...flags })
const NONE = state({})
const UNKNOWN = state({ unknown: true })
const STATIONARY = state({ stationary: true })
const STATIONARY_UNKNOWN = state({ stationary: true, unknown: true })
const WALKING = state({ walking: true })
const WALKING_UNKNOWN = state({ walking: true, unknown: true })
const WALKING_STATIONARY = state({ walking: true, stationary: true })
const RUNNING = state({ running: true })
const RUNNING_WALKING = state({ running: true, walking: true })

interface ActivityPattern {
  /** Seconds between two reports while the motion lasts. */
  intervalSeconds: readonly [number, number]
  states: ReadonlyArray<readonly [ActivityData, number]>
}

// No flag says "in a vehicle" or "on a bike": there the classifier reports nothing or `unknown`.
const PATTERNS: Record<Motion, ActivityPattern> = {
  sleep: { intervalSeconds: [600, 3600], states: [[STATIONARY, 97], [STATIONARY_UNKNOWN, 2], [NONE, 1]] },
  still: { intervalSeconds: [30, 600], states: [[STATIONARY, 92], [STATIONARY_UNKNOWN, 3], [UNKNOWN, 3], [NONE, 2]] },
  wander: { intervalSeconds: [5, 40], states: [[WALKING, 80], [WALKING_STATIONARY, 8], [UNKNOWN, 6], [STATIONARY, 6]] },
  walk: { intervalSeconds: [3, 30], states: [[WALKING, 86], [WALKING_UNKNOWN, 6], [UNKNOWN, 4], [NONE, 4]] },
  run: { intervalSeconds: [3, 20], states: [[RUNNING, 82], [RUNNING_WALKING, 10], [WALKING, 4], [UNKNOWN, 4]] },
  bike: { intervalSeconds: [5, 60], states: [[NONE, 55], [UNKNOWN, 40], [WALKING, 5]] },
  ride: { intervalSeconds: [10, 90], states: [[NONE, 70], [UNKNOWN, 22], [STATIONARY, 8]] },
  halt: { intervalSeconds: [10, 60], states: [[STATIONARY, 60], [NONE, 25], [STATIONARY_UNKNOWN, 10], [WALKING, 5]] },
}

/** Returns the activity readings of each span in turn; the report schedule carries over. */
export function activitySensor(random: Random): (span: Span) => Generator<Reading> {
  let previousMotion: Motion | undefined
  let nextReportMs = 0
  return function* readingsDuring(span: Span): Generator<Reading> {
    const pattern = PATTERNS[span.motion]
    // A change of motion is noticed within seconds; the same motion across spans (asleep
    // through midnight) keeps its schedule.
    if (span.motion !== previousMotion) nextReportMs = span.startMs + Math.round(random.between(2000, 15_000))
    previousMotion = span.motion
    while (nextReportMs < span.endMs) {
      yield { kind: 'activity', timeMs: nextReportMs, data: random.weighted(pattern.states) }
      nextReportMs += Math.round(random.between(...pattern.intervalSeconds) * 1000)
    }
  }
}
