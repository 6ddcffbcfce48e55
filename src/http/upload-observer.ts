// Counts uploads in flight and the uploads refused, by the error code the client was sent.
// Mounted before authentication, so a 401 or 413 is counted like any other refusal.
import type { MiddlewareHandler } from 'hono'
import { DecodeError } from '../codec/index.ts'
import type { IngestMetrics } from '../telemetry/ingest-metrics.ts'
import { asApiError } from './errors.ts'

export type UploadVariables = {
  /** Samples decoded from the body, once the codec has read all of it. */
  decodedSamples: number
}

export function observeUploads(metrics: IngestMetrics): MiddlewareHandler<{ Variables: UploadVariables }> {
  return async function observeUploads(c, next) {
    const finished = metrics.uploadStarted()
    try {
      await next()
    } finally {
      finished()
      if (c.error) metrics.recordRejected(asApiError(c.error).code, samplesRefused(c.error, c.get('decodedSamples')))
    }
  }
}

/** All decoded samples when the database refused them; up to the bad one when the codec did. */
function samplesRefused(error: Error, decodedSamples: number | undefined): number {
  if (decodedSamples !== undefined) return decodedSamples
  if (error instanceof DecodeError && error.details.sample !== undefined) return error.details.sample + 1
  return 0
}
