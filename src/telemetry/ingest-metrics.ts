// What happens to uploads and their samples: counted by kind on the way in and on the way to
// the database, by reason when refused. No semantic convention exists for these, so they
// carry the product's own `telemetry.` prefix.
import type { Meter } from '@opentelemetry/api'
import { SAMPLE_KINDS, timeSpan, type CountsByKind, type SampleBatch, type SampleKind } from '../codec/index.ts'

export interface UploadOutcome {
  /** Body size as the client sent it. */
  bytes: number
  /** Samples in the upload, all kinds together. */
  samples: number
  received: CountsByKind
  /** Rows the transaction inserted; the rest were already stored (a retried upload). */
  stored: CountsByKind
}

export interface IngestMetrics {
  uploadStarted(): () => void
  recordUpload(outcome: UploadOutcome): void
  recordRejected(reason: string, samples: number): void
  /** An upload the writer could not store (its transaction, or its part of a group's, failed). */
  recordDbWriteError(errorType: string): void
  /** How far behind real time the newest sample of each kind in a stored upload is. */
  recordIngestLag(batch: SampleBatch, nowMs?: number): void
}

const KIND_ATTRIBUTES = Object.fromEntries(SAMPLE_KINDS.map((kind) => [kind, { kind }])) as Record<SampleKind, { kind: SampleKind }>

export function ingestMetrics(meter: Meter): IngestMetrics {
  const received = meter.createCounter('telemetry.samples.received', {
    description: 'Samples in accepted uploads, by kind.',
    unit: '{sample}',
  })
  const stored = meter.createCounter('telemetry.samples.stored', {
    description: 'Samples written to their hypertable, by kind.',
    unit: '{sample}',
  })
  const duplicate = meter.createCounter('telemetry.samples.duplicate', {
    description: 'Samples of accepted uploads that were already stored (same device, id and time), by kind.',
    unit: '{sample}',
  })
  const samplesRejected = meter.createCounter('telemetry.samples.rejected', {
    description: 'Samples in refused uploads, by the error code the client was answered with.',
    unit: '{sample}',
  })
  const uploadsRejected = meter.createCounter('telemetry.uploads.rejected', {
    description: 'Refused uploads, by the error code the client was answered with.',
    unit: '{upload}',
  })
  const uploadSize = meter.createHistogram('telemetry.upload.size', {
    description: 'Body size of accepted uploads.',
    unit: 'By',
  })
  const uploadSamples = meter.createHistogram('telemetry.upload.samples', {
    description: 'Samples per accepted upload.',
    unit: '{sample}',
  })
  const inFlight = meter.createUpDownCounter('telemetry.uploads.in_flight', {
    description: 'Uploads being received, decoded or written right now.',
    unit: '{upload}',
  })
  const dbWriteErrors = meter.createCounter('telemetry.db.write.errors', {
    description: 'Upload transactions that failed, by error type (SQLSTATE or error name).',
    unit: '{transaction}',
  })
  const ingestLag = meter.createHistogram('telemetry.ingest.lag', {
    description: 'Time from the newest sample of an upload (per kind) to its being stored.',
    unit: 's',
  })

  // Every counter exists at 0 from the start: `rate` and `increase` see the first event of a
  // series that already exists, and an alert on "no samples stored" has a series to compare.
  for (const kind of SAMPLE_KINDS) {
    for (const counter of [received, stored, duplicate]) counter.add(0, { kind })
  }
  // Reasons and error types are open sets (error codes, SQLSTATEs): a series without the label
  // stands at 0 for them, so that sums over the counter exist before the first refusal.
  for (const counter of [samplesRejected, uploadsRejected, dbWriteErrors]) counter.add(0)

  return {
    uploadStarted() {
      inFlight.add(1)
      let finished = false
      return () => {
        // A second call must not drive the gauge below the true count.
        if (finished) return
        finished = true
        inFlight.add(-1)
      }
    },
    recordUpload(outcome) {
      uploadSize.record(outcome.bytes)
      uploadSamples.record(outcome.samples)
      // Adds of 0 are skipped: every series exists from the start, and each add costs the
      // SDK an attribute hash and a lookup (most uploads hold no `other` samples and no
      // duplicates, which made 6 of the 12 adds of an upload).
      for (const kind of SAMPLE_KINDS) {
        const attributes = KIND_ATTRIBUTES[kind]
        const duplicates = outcome.received[kind] - outcome.stored[kind]
        if (outcome.received[kind] > 0) received.add(outcome.received[kind], attributes)
        if (outcome.stored[kind] > 0) stored.add(outcome.stored[kind], attributes)
        if (duplicates > 0) duplicate.add(duplicates, attributes)
      }
    },
    recordRejected(reason, samples) {
      const attributes = { reason }
      uploadsRejected.add(1, attributes)
      samplesRejected.add(samples, attributes)
    },
    recordDbWriteError(errorType) {
      dbWriteErrors.add(1, { 'error.type': errorType })
    },
    recordIngestLag(batch, nowMs = Date.now()) {
      // One observation per kind and upload, not per sample: a million-sample upload would
      // otherwise cost a million histogram updates. The newest sample says how fresh the data
      // is when it lands, which is what a dashboard of "now" depends on.
      for (const kind of SAMPLE_KINDS) {
        const span = timeSpan(batch[kind])
        if (!span) continue
        const newest = batch[kind].seconds[span.last]!
        // A clock ahead of ours (a sample "from the future") counts as no lag at all.
        ingestLag.record(Math.max(0, nowMs / 1000 - newest), KIND_ATTRIBUTES[kind])
      }
    },
  }
}
