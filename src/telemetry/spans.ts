// A span around a piece of work, for any room: it needs only the OpenTelemetry API (a no-op
// span each while tracing is off), so the database room can trace what node-postgres'
// instrumentation does not see without depending on the HTTP layer's tracing.
import { SpanStatusCode, trace, type Span, type SpanOptions } from '@opentelemetry/api'

const tracer = trace.getTracer('telemetry-store')

/**
 * Runs `work` inside a new span, child of the active one; a thrown error marks it failed.
 *
 * ```ts
 * const stored = await inSpan('upload.write', () => writeSamples(pool, deviceId, batch))
 * ```
 */
export function inSpan<T>(name: string, work: (span: Span) => Promise<T>, options: SpanOptions = {}): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work(span)
    } catch (error) {
      span.recordException(error as Error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message })
      throw error
    } finally {
      span.end()
    }
  })
}

