// Histogram buckets for this workload. The SDK's defaults (0..10000 in milliseconds-sized
// steps) would put every sub-second request in the first few buckets and every upload size in
// the last one, so p50/p99 could not be read from them.
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

function explicitBuckets(instrumentName: string, boundaries: number[]): ViewOptions {
  return { instrumentName, aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries } } }
}

export const HISTOGRAM_VIEWS: ViewOptions[] = [
  explicitBuckets('http.server.request.duration', DURATION_BUCKETS_SECONDS),
  explicitBuckets('db.client.operation.duration', DURATION_BUCKETS_SECONDS),
  explicitBuckets('telemetry.upload.size', UPLOAD_SIZE_BUCKETS_BYTES),
  explicitBuckets('telemetry.upload.samples', UPLOAD_SAMPLES_BUCKETS),
]
