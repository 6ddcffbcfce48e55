// The bench's workload: N simulated samples of each known kind, kept in memory (for the
// direct load, the writer and the codec) and written as the JSON-lines files the send client
// uploads. Every figure of one run is measured on these same samples.
import fs from 'node:fs'
import path from 'node:path'
import { FILE_NAMES, formatSampleLine, generateSamples, type SimulatedKind, type SimulatedSample } from '../../src/sim/index.ts'

/** The month the sparse kinds span. */
const SPARSE_KIND_DAYS = 30

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
 * Acceleration comes from one simulated person recording all day. Locations (about 27 a day)
 * and activity states are sparse, so they come from as many simulated people over the same
 * month as it takes: one person alone would need years of locations, spread over a hundred
 * weekly chunks, and the bench would measure chunk creation instead of inserts. The sparse
 * kinds are then put in time order and numbered 1..N per kind (every kind has its own
 * hypertable and its own unique key).
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
  const sparse: SimulatedKind[] = ['location', 'activity']
  for (let person = 0; sparse.some((kind) => samples[kind].length < samplesPerKind); person++) {
    take(sparse, generateSamples({ days: SPARSE_KIND_DAYS, seed: seed + person, accelerationHoursPerDay: 0 }))
  }
  for (const kind of sparse) {
    samples[kind].sort((a, b) => a.timeMs - b.timeMs)
    samples[kind].forEach((sample, index) => (sample.id = index + 1))
  }
  take(['acceleration'], generateSamples({ days: Math.ceil(samplesPerKind / 4_000_000), seed, accelerationHoursPerDay: 24 }))

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
