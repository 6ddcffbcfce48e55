// POST /v1/samples: body -> codec -> writer -> answer. One upload is one transaction: the
// answer 200 means every sample is committed, any other answer means none is.
import type { Handler } from 'hono'
import { ACCEPTED_CONTENT_TYPES, bodyFormatFor, countsByKind, decodeSamples, type CountsByKind } from '../codec/index.ts'
import type { UploadAnswer } from '../api-types.ts'
import type { IngestStore } from '../db/ingest-store.ts'
import { errorType } from '../db/pool.ts'
import type { IngestMetrics } from '../telemetry/ingest-metrics.ts'
import { inSpan } from '../telemetry/spans.ts'
import { decodedUploadAttributes } from '../telemetry/tracing.ts'
import type { AuthVariables } from './auth.ts'
import type { UploadVariables } from './upload-observer.ts'
import type { DeviceRateLimit } from './device-rate-limit.ts'
import { databaseFailure } from './database-errors.ts'
import { ApiError } from './errors.ts'
import { readUploadBody } from './upload-body.ts'

export interface UploadOptions {
  writeSamples: IngestStore['writeSamples']
  metrics: IngestMetrics
  maxBodyBytes: number
  maxSamplesPerUpload: number
  rateLimit: DeviceRateLimit
  retryAfterSeconds: number
}

export function uploadSamples(options: UploadOptions): Handler<{ Variables: AuthVariables & UploadVariables }> {
  return async function uploadSamples(c) {
    const format = bodyFormatFor(c.req.header('content-type'))
    if (!format) {
      throw new ApiError(415, 'unsupported_media_type', `Content-Type ${JSON.stringify(c.req.header('content-type') ?? '')} is not accepted; use one of: ${ACCEPTED_CONTENT_TYPES.join(', ')}`)
    }
    const { body, batch, received } = await inSpan('upload.decode', async (span) => {
      const body = await readUploadBody(c.req.raw, options.maxBodyBytes)
      const batch = decodeSamples(format, body)
      const received = countsByKind(batch)
      if (span.isRecording()) span.setAttributes(decodedUploadAttributes(format, body.length, received))
      return { body, batch, received }
    })
    c.set('decodedSamples', batch.count)
    if (batch.count > options.maxSamplesPerUpload) {
      throw new ApiError(413, 'too_many_samples', `the upload holds ${batch.count} samples, more than ${options.maxSamplesPerUpload}; split it into smaller batches`, {
        samples: batch.count,
        limit: options.maxSamplesPerUpload,
      })
    }
    // Counted in samples once they are known, before the database does any work for them.
    options.rateLimit.take(c.get('device').id, batch.count)
    let stored: CountsByKind = { location: 0, activity: 0, acceleration: 0, other: 0 }
    if (batch.count > 0) {
      // The transaction's own duration is measured by the writer (db.client.operation.duration),
      // without the wait for its group or a connection.
      try {
        stored = await inSpan('upload.write', () => options.writeSamples(c.get('device').id, batch))
      } catch (error) {
        options.metrics.recordDbWriteError(errorType(error))
        throw databaseFailure(error, options.retryAfterSeconds, c.get('requestId'))
      }
      options.metrics.recordIngestLag(batch)
    }
    options.metrics.recordUpload({ bytes: body.length, samples: batch.count, received, stored })
    const accepted = stored.location + stored.activity + stored.acceleration + stored.other
    return c.json<UploadAnswer>({ accepted, duplicates: batch.count - accepted, byKind: received })
  }
}
