// The bench's workload: N simulated samples of each known kind, kept in memory (for the
// direct load, the writer and the codec) and written as the JSON-lines files the send client
// uploads. Every figure of one run is measured on these same samples.
import fs from 'node:fs'
import path from 'node:path'
import { FILE_NAMES, formatSampleLine, generateSamples, type SimulatedKind, type SimulatedSample } from '../sim/index.ts'

export const BENCH_KINDS = ['location', 'activity', 'acceleration'] as const satisfies readonly SimulatedKind[]

export interface Dataset {
  samplesPerKind: number
  /** The samples of each kind, in time order. */
  samples: Record<SimulatedKind, SimulatedSample[]>
  /** The same samples as proto3-JSON lines (what the files hold, one per line). */
  lines: Record<SimulatedKind, string[]>
  /** location.jsonl, activity.jsonl, acceleration.jsonl in `directory`. */
  files: string[]
  totalSamples: number
}

/**
 * Locations (a few dozen a day) and activity states come from a simulation without
 * acceleration; acceleration from one that records all day. Each kind keeps its own ids,
 * which is fine: every kind has its own hypertable and its own unique key.
 */
export function buildDataset(samplesPerKind: number, directory: string, seed = 1): Dataset {
  const samples: Record<SimulatedKind, SimulatedSample[]> = { location: [], activity: [], acceleration: [] }
  const take = (kinds: SimulatedKind[], source: Iterable<SimulatedSample>) => {
    for (const sample of source) {
      const bucket = samples[sample.kind]
      if (kinds.includes(sample.kind) && bucket.length < samplesPerKind) bucket.push(sample)
      if (kinds.every((kind) => samples[kind].length >= samplesPerKind)) return
    }
  }
  // Days enough for the sparsest kind (about 27 locations a day) and for 50 Hz around the clock.
  take(['location', 'activity'], generateSamples({ days: Math.ceil(samplesPerKind / 20) + 1, seed, accelerationHoursPerDay: 0 }))
  take(['acceleration'], generateSamples({ days: Math.ceil(samplesPerKind / 4_000_000) + 1, seed, accelerationHoursPerDay: 24 }))

  fs.mkdirSync(directory, { recursive: true })
  const lines = {} as Record<SimulatedKind, string[]>
  const files: string[] = []
  for (const kind of BENCH_KINDS) {
    if (samples[kind].length < samplesPerKind) throw new Error(`the simulator gave only ${samples[kind].length} ${kind} samples`)
    lines[kind] = samples[kind].map(formatSampleLine)
    const file = path.join(directory, FILE_NAMES[kind])
    fs.writeFileSync(file, lines[kind].join('\n') + '\n')
    files.push(file)
  }
  return { samplesPerKind, samples, lines, files, totalSamples: samplesPerKind * BENCH_KINDS.length }
}
