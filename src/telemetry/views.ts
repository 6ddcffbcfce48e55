// How the instruments reach /metrics: their Prometheus names and their histogram buckets.
//
// Names: the OpenTelemetry-to-Prometheus compatibility rules append the unit to the metric
// name (`s` -> `_seconds`, `By` -> `_bytes`, `1` -> `_ratio` for gauges), so that
// `http.server.request.duration` in seconds is `http_server_request_duration_seconds`, as on
// every other service's dashboards. The JS Prometheus exporter (0.2xx) does not append units,
// so a view per instrument gives each its Prometheus name; the instruments themselves keep
// their semantic-convention names. Units written as annotations (`{sample}`) add nothing.
//
// Buckets: the SDK's defaults (0..10000 in milliseconds-sized steps) would put every
// sub-second request in the first few buckets and every upload size in the last one, so
// p50/p99 could not be read from them.
import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics'

/** Seconds: a cached health check takes well under a millisecond, a 64 MiB upload seconds. */
export const DURATION_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

const KiB = 1024
/** Bytes, powers of four from 1 KiB up to the largest body the service takes (64 MiB). */
export const UPLOAD_SIZE_BUCKETS_BYTES = [1, 4, 16, 64, 256, 1024, 4096, 16_384, 65_536].map((k) => k * KiB)

/** Samples per upload: one location up to a million (5.5 hours of 50 Hz acceleration). */
export const UPLOAD_SAMPLES_BUCKETS = [1, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000]

const MINUTE = 60
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/**
 * Seconds from a sample's time to its arrival: a phone streaming live is seconds behind, one
 * that uploads on Wi-Fi hours, one that was offline for a trip days.
 */
export const INGEST_LAG_BUCKETS_SECONDS = [1, 5, 15, MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 30 * DAY]

/** The unit suffixes of the compatibility rules for the units this service's instruments use. */
const UNIT_SUFFIXES: Record<string, string> = { s: 'seconds', By: 'bytes' }

/** `http.server.request.duration` in `s` -> `http.server.request.duration_seconds`. */
export function withUnitSuffix(instrumentName: string, unit: string): string {
  const suffix = UNIT_SUFFIXES[unit]
  return suffix === undefined || instrumentName.endsWith(`.${suffix}`) ? instrumentName : `${instrumentName}_${suffix}`
}

interface Stream {
  instrumentName: string
  unit: string
  /** The Prometheus-side name when the unit rule alone does not give a good one. */
  name?: string
  boundaries?: number[]
}

// Every instrument with a unit the rules suffix, this service's and the runtime
// instrumentation's (@opentelemetry/instrumentation-runtime-node), plus renames.
const STREAMS: Stream[] = [
  { instrumentName: 'http.server.request.duration', unit: 's', boundaries: DURATION_BUCKETS_SECONDS },
  { instrumentName: 'db.client.operation.duration', unit: 's', boundaries: DURATION_BUCKETS_SECONDS },
  { instrumentName: 'db.client.connection.wait_time', unit: 's', boundaries: DURATION_BUCKETS_SECONDS },
  { instrumentName: 'telemetry.upload.size', unit: 'By', boundaries: UPLOAD_SIZE_BUCKETS_BYTES },
  { instrumentName: 'telemetry.upload.samples', unit: '{sample}', boundaries: UPLOAD_SAMPLES_BUCKETS },
  { instrumentName: 'telemetry.ingest.lag', unit: 's', boundaries: INGEST_LAG_BUCKETS_SECONDS },
  { instrumentName: 'process.memory.usage', unit: 'By' },
  // `db_client_connection_count` would read as the _count of a histogram (promtool flags it):
  // exported under the name the conventions had before, which pool dashboards still use.
  { instrumentName: 'db.client.connection.count', unit: '{connection}', name: 'db.client.connections.usage' },
  ...['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map((stat) => ({ instrumentName: `nodejs.eventloop.delay.${stat}`, unit: 's' })),
  { instrumentName: 'nodejs.eventloop.time', unit: 's' },
  // A gauge in unit 1 is a ratio (0..1).
  { instrumentName: 'nodejs.eventloop.utilization', unit: '1', name: 'nodejs.eventloop.utilization_ratio' },
  { instrumentName: 'v8js.gc.duration', unit: 's' },
  ...['used', 'space.size', 'space.available_size', 'space.physical_size'].map((what) => ({ instrumentName: `v8js.memory.heap.${what}`, unit: 'By' })),
]

/** The views the MeterProvider needs: one per stream, naming it and choosing its buckets. */
export const METRIC_VIEWS: ViewOptions[] = STREAMS.map(({ instrumentName, unit, name, boundaries }) => ({
  instrumentName,
  name: name ?? withUnitSuffix(instrumentName, unit),
  ...(boundaries && { aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries } } }),
}))
