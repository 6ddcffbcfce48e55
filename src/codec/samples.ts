// The codec's output: the samples of one upload, already split by kind into the columns of
// their hypertables. Columns (not one object per sample) because the writer hands each
// column to PostgreSQL as one array parameter.

export const SAMPLE_KINDS = ['location', 'activity', 'acceleration', 'other'] as const
export type SampleKind = (typeof SAMPLE_KINDS)[number]

/** Columns every kind has: the sample's key. */
export interface SampleKeyColumns {
  /** int64 ids as decimal strings: ids above 2^53 must reach the database exactly. */
  sampleIds: string[]
  /** Whole seconds since the Unix epoch (protobuf Timestamp range fits a double exactly). */
  seconds: number[]
  /** 0..999999; PostgreSQL keeps microseconds, so nanoseconds below one are dropped. */
  micros: number[]
}

export interface LocationColumns extends SampleKeyColumns {
  latitudes: number[]
  longitudes: number[]
}

export interface ActivityColumns extends SampleKeyColumns {
  unknown: boolean[]
  stationary: boolean[]
  walking: boolean[]
  running: boolean[]
}

export interface AccelerationColumns extends SampleKeyColumns {
  x: number[]
  y: number[]
  z: number[]
}

export interface OtherColumns extends SampleKeyColumns {
  typeUrls: string[]
  payloads: Uint8Array[]
}

export interface SampleBatch {
  /** Number of samples in the upload, all kinds together. */
  count: number
  location: LocationColumns
  activity: ActivityColumns
  acceleration: AccelerationColumns
  other: OtherColumns
}

export type CountsByKind = Record<SampleKind, number>

export function emptySampleBatch(): SampleBatch {
  const keys = (): SampleKeyColumns => ({ sampleIds: [], seconds: [], micros: [] })
  return {
    count: 0,
    location: { ...keys(), latitudes: [], longitudes: [] },
    activity: { ...keys(), unknown: [], stationary: [], walking: [], running: [] },
    acceleration: { ...keys(), x: [], y: [], z: [] },
    other: { ...keys(), typeUrls: [], payloads: [] },
  }
}

export function countsByKind(batch: SampleBatch): CountsByKind {
  return {
    location: batch.location.sampleIds.length,
    activity: batch.activity.sampleIds.length,
    acceleration: batch.acceleration.sampleIds.length,
    other: batch.other.sampleIds.length,
  }
}

/**
 * The positions of the earliest and the latest sample in `columns` (by seconds, then
 * microseconds), or undefined when there are none: one scan, for the writer's time ranges and
 * the ingest-lag metric alike.
 */
export function timeSpan({ seconds, micros }: SampleKeyColumns): { first: number; last: number } | undefined {
  if (seconds.length === 0) return undefined
  let first = 0
  let last = 0
  for (let i = 1; i < seconds.length; i++) {
    if (seconds[i]! < seconds[first]! || (seconds[i] === seconds[first] && micros[i]! < micros[first]!)) first = i
    if (seconds[i]! > seconds[last]! || (seconds[i] === seconds[last] && micros[i]! > micros[last]!)) last = i
  }
  return { first, last }
}
