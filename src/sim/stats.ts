// What a simulation produced, counted as the samples go by: samples per kind, the share of
// each activity state, the time covered, and the acceleration bursts.
import { SAMPLE_INTERVAL_MS } from './acceleration.ts'
import type { ActivityData, SimulatedKind, SimulatedSample } from './samples.ts'
import type { WrittenFile } from './writer.ts'
import { formatBytes } from '../byte-size.ts'

export interface SimulationStats {
  samplesByKind: Record<SimulatedKind, number>
  /** Activity samples by combination of flags (`walking`, `stationary+unknown`, `none`). */
  activityStates: Record<string, number>
  firstMs: number | undefined
  lastMs: number | undefined
  /** Runs of acceleration samples 20 ms apart. */
  accelerationBursts: number
}

export interface StatsCollector {
  record(sample: SimulatedSample): void
  stats(): SimulationStats
}

export function collectStats(): StatsCollector {
  const stats: SimulationStats = {
    samplesByKind: { location: 0, activity: 0, acceleration: 0 },
    activityStates: {},
    firstMs: undefined,
    lastMs: undefined,
    accelerationBursts: 0,
  }
  let lastAccelerationMs = Number.NEGATIVE_INFINITY
  return {
    record(sample) {
      stats.samplesByKind[sample.kind]++
      stats.firstMs = Math.min(stats.firstMs ?? sample.timeMs, sample.timeMs)
      stats.lastMs = Math.max(stats.lastMs ?? sample.timeMs, sample.timeMs)
      if (sample.kind === 'activity') {
        const name = activityStateName(sample.data)
        stats.activityStates[name] = (stats.activityStates[name] ?? 0) + 1
      } else if (sample.kind === 'acceleration') {
        if (sample.timeMs - lastAccelerationMs !== SAMPLE_INTERVAL_MS) stats.accelerationBursts++
        lastAccelerationMs = sample.timeMs
      }
    },
    stats: () => stats,
  }
}

/** The flags that are set, joined by `+` in field order; `none` when no flag is set. */
export function activityStateName(activity: Partial<ActivityData>): string {
  const flags = (['unknown', 'stationary', 'walking', 'running'] as const).filter((flag) => activity[flag] === true)
  return flags.length === 0 ? 'none' : flags.join('+')
}

/** The human-readable report the CLI prints at the end. */
export function formatStats(stats: SimulationStats, files: readonly WrittenFile[], elapsedMs: number): string {
  const total = stats.samplesByKind.location + stats.samplesByKind.activity + stats.samplesByKind.acceleration
  const lines: string[] = []
  const spanHours = stats.firstMs === undefined || stats.lastMs === undefined ? 0 : (stats.lastMs - stats.firstMs) / 3_600_000
  lines.push(`time span: ${iso(stats.firstMs)} .. ${iso(stats.lastMs)} (${(spanHours / 24).toFixed(2)} days)`)
  lines.push('samples:')
  for (const kind of ['location', 'activity', 'acceleration'] as const) {
    lines.push(`  ${kind.padEnd(13)} ${String(stats.samplesByKind[kind]).padStart(12)}`)
  }
  lines.push(`  ${'total'.padEnd(13)} ${String(total).padStart(12)}`)
  const accelerationSeconds = (stats.samplesByKind.acceleration * SAMPLE_INTERVAL_MS) / 1000
  lines.push(`acceleration: ${stats.accelerationBursts} bursts, ${(accelerationSeconds / 3600).toFixed(3)} h at 50 Hz`)
  lines.push('activity states (share of activity samples):')
  const states = Object.entries(stats.activityStates).sort(([, a], [, b]) => b - a)
  for (const [name, count] of states) {
    lines.push(`  ${name.padEnd(24)} ${percent(count, stats.samplesByKind.activity).padStart(7)}  (${count})`)
  }
  lines.push('files:')
  for (const file of files) lines.push(`  ${file.path}  ${formatBytes(file.bytes)}`)
  const seconds = elapsedMs / 1000
  lines.push(`elapsed: ${seconds.toFixed(1)} s, ${Math.round(total / Math.max(seconds, 1e-3)).toLocaleString('en-US')} lines/s`)
  return lines.join('\n')
}

function percent(count: number, total: number): string {
  return `${((100 * count) / Math.max(total, 1)).toFixed(1)} %`
}

function iso(timeMs: number | undefined): string {
  return timeMs === undefined ? '-' : new Date(timeMs).toISOString()
}
