// Structured logs (JSON lines on stdout), one logger for the whole process.
import { isSpanContextValid, trace } from '@opentelemetry/api'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { Config } from './config.ts'

export type { Logger }

/** `destination` defaults to stdout. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  return pino({
    level: config.logLevel,
    base: undefined, // pid and hostname belong to the process supervisor, not every line
    // Tokens never reach the logs, whatever object a caller hands in.
    redact: { paths: ['token', '*.token', 'req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    mixin: traceIds,
  }, destination)
}

/**
 * A line written inside a traced request names its trace and span, so the trace backend and
 * the logs lead to each other (field names as OpenTelemetry's log data model spells them).
 */
function traceIds(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext()
  if (!span || !isSpanContextValid(span)) return {}
  return { trace_id: span.traceId, span_id: span.spanId, trace_flags: span.traceFlags.toString(16).padStart(2, '0') }
}
