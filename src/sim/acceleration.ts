// 50 Hz accelerometer bursts that match what the body does. The daily budget of recording
// time is cut into bursts of about a minute, one per equal slot of the day; most bursts that
// can (60 %) are placed on a trip, the way motion-triggered recording catches movement. The
// signal is gravity (1 g) in the phone's frame plus the motion: a phone on a table reads
// about (0, 0, -1); in a pocket it stands upright and walking adds the ~2 Hz gait (vertical
// bounce with a harmonic, fore-aft push, sideways sway at half the step rate), running the
// same stronger and faster, bikes and trains a low rumble.
import type { Random } from './random.ts'
import type { DayPlan } from './routine.ts'
import type { Reading } from './samples.ts'
import type { Motion, Span } from './spans.ts'

export const SAMPLE_INTERVAL_MS = 20 // 50 Hz
const NOMINAL_BURST_MS = 60_000
const TRIP_BURST_CHANCE = 0.6

export interface Burst {
  startMs: number
  endMs: number
}

/** Recording windows of one day: `hoursPerDay` hours in all, never overlapping, in time order. */
export function scheduleBursts(day: DayPlan, hoursPerDay: number, random: Random): Burst[] {
  const dayMs = day.endMs - day.startMs
  const budgetMs = Math.min(dayMs, hoursPerDay * 3_600_000)
  if (budgetMs < SAMPLE_INTERVAL_MS) return []
  const count = Math.max(1, Math.round(budgetMs / NOMINAL_BURST_MS))
  const slotMs = dayMs / count
  // Whole sample intervals, so every burst has the same number of samples.
  const lengthMs = Math.min(Math.floor(slotMs / SAMPLE_INTERVAL_MS), Math.round(budgetMs / count / SAMPLE_INTERVAL_MS)) * SAMPLE_INTERVAL_MS
  const moving = day.spans.filter((span) => !span.place)
  const bursts: Burst[] = []
  for (let slot = 0; slot < count; slot++) {
    const slotStartMs = Math.ceil(day.startMs + slot * slotMs)
    const latestStartMs = Math.floor(day.startMs + (slot + 1) * slotMs) - lengthMs
    let startMs = random.between(slotStartMs, latestStartMs)
    const trips = moving.filter((span) => span.endMs > slotStartMs && span.startMs < latestStartMs + lengthMs)
    if (trips.length > 0 && random.chance(TRIP_BURST_CHANCE)) {
      const trip = trips[random.integer(0, trips.length - 1)]!
      const momentMs = random.between(Math.max(trip.startMs, slotStartMs), Math.min(trip.endMs, latestStartMs + lengthMs))
      startMs = Math.min(latestStartMs, Math.max(slotStartMs, momentMs - random.float() * lengthMs))
    }
    startMs = Math.round(startMs)
    bursts.push({ startMs, endMs: startMs + lengthMs })
  }
  return bursts
}

type Vector = readonly [number, number, number]

/** How the phone moves during one motion: amplitudes in g, frequencies in Hz. */
interface MotionSignal {
  carried: 'table' | 'pocket'
  stepHz: readonly [number, number]
  bounce: readonly [number, number]
  /** Second harmonic of the bounce, relative: the heel strike. */
  impact: number
  push: number
  sway: number
  noise: number
}

const SIGNALS: Record<Motion, MotionSignal> = {
  sleep: { carried: 'table', stepHz: [0, 0], bounce: [0, 0], impact: 0, push: 0, sway: 0, noise: 0.002 },
  still: { carried: 'table', stepHz: [0, 0], bounce: [0, 0], impact: 0, push: 0, sway: 0, noise: 0.004 },
  wander: { carried: 'pocket', stepHz: [1.5, 1.8], bounce: [0.12, 0.2], impact: 0.3, push: 0.08, sway: 0.05, noise: 0.02 },
  walk: { carried: 'pocket', stepHz: [1.7, 2.1], bounce: [0.25, 0.4], impact: 0.35, push: 0.15, sway: 0.08, noise: 0.025 },
  run: { carried: 'pocket', stepHz: [2.6, 3.0], bounce: [0.9, 1.4], impact: 0.5, push: 0.35, sway: 0.15, noise: 0.05 },
  bike: { carried: 'pocket', stepHz: [1.1, 1.5], bounce: [0.05, 0.09], impact: 0.2, push: 0.04, sway: 0.06, noise: 0.05 },
  ride: { carried: 'pocket', stepHz: [0.15, 0.3], bounce: [0.01, 0.02], impact: 0, push: 0.05, sway: 0.03, noise: 0.02 },
  halt: { carried: 'pocket', stepHz: [0.2, 0.4], bounce: [0.005, 0.01], impact: 0, push: 0.01, sway: 0.01, noise: 0.008 },
}

/** The acceleration readings of the part of each burst that falls in the span. */
export function* accelerationDuring(span: Span, bursts: readonly Burst[], random: Random): Generator<Reading> {
  for (const burst of bursts) {
    if (burst.endMs <= span.startMs || burst.startMs >= span.endMs) continue
    const signal = SIGNALS[span.motion]
    const axes = phoneAxes(signal.carried, random)
    const stepHz = random.between(...signal.stepHz)
    const bounce = random.between(...signal.bounce)
    const phase = random.between(0, 2 * Math.PI)
    // Sample times stay on the burst's 20 ms grid when the burst spans several motions.
    const firstIndex = Math.max(0, Math.ceil((span.startMs - burst.startMs) / SAMPLE_INTERVAL_MS))
    const untilMs = Math.min(span.endMs, burst.endMs)
    for (let timeMs = burst.startMs + firstIndex * SAMPLE_INTERVAL_MS; timeMs < untilMs; timeMs += SAMPLE_INTERVAL_MS) {
      const angle = 2 * Math.PI * stepHz * ((timeMs - burst.startMs) / 1000) + phase
      const vertical = 1 + bounce * (Math.sin(angle) + signal.impact * Math.sin(2 * angle + 0.7))
      const forward = signal.push * Math.sin(angle + Math.PI / 2)
      const sideways = signal.sway * Math.sin(angle / 2)
      yield {
        kind: 'acceleration',
        timeMs,
        data: {
          x: round4(axes.down[0] * vertical + axes.forward[0] * forward + axes.side[0] * sideways + random.normal(signal.noise)),
          y: round4(axes.down[1] * vertical + axes.forward[1] * forward + axes.side[1] * sideways + random.normal(signal.noise)),
          z: round4(axes.down[2] * vertical + axes.forward[2] * forward + axes.side[2] * sideways + random.normal(signal.noise)),
        },
      }
    }
  }
}

/**
 * Where gravity ("down") and the walking directions point in the phone's frame: flat on a
 * table (screen up: down is -z, tilted a degree or two), or upright in a trouser pocket (down
 * is about -y, tilted up to ~15 degrees).
 */
function phoneAxes(carried: MotionSignal['carried'], random: Random): { down: Vector; forward: Vector; side: Vector } {
  const tilt = carried === 'table' ? 0.03 : 0.25
  const down = normalize(carried === 'table' ? [random.normal(tilt), random.normal(tilt), -1] : [random.normal(tilt), -1, random.normal(tilt)])
  const reference: Vector = carried === 'table' ? [0, 1, 0] : [0, 0, 1]
  const forward = normalize(subtract(reference, scale(down, dot(reference, down))))
  return { down, forward, side: cross(down, forward) }
}

function round4(g: number): number {
  // 0.1 mg: finer than any phone accelerometer resolves, and keeps lines short.
  return Math.round(g * 1e4) / 1e4
}

const dot = (a: Vector, b: Vector) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
const scale = (a: Vector, factor: number): Vector => [a[0] * factor, a[1] * factor, a[2] * factor]
const subtract = (a: Vector, b: Vector): Vector => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
const normalize = (a: Vector): Vector => scale(a, 1 / Math.sqrt(dot(a, a)))
const cross = (a: Vector, b: Vector): Vector => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
