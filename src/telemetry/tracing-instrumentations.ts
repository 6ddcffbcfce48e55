// What NodeSDK instruments: incoming HTTP requests and pg queries (spans), and the Node.js
// runtime (metrics).
import { createRequire } from 'node:module'
import { createNoopMeter, type MeterProvider } from '@opentelemetry/api'
import type { Instrumentation } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node'

// Scrapes and probes arrive every few seconds and would bury the uploads.
const UNTRACED_PATHS = new Set(['/metrics', '/healthz', '/readyz'])

/**
 * The runtime metrics always; the HTTP and pg instrumentations only when traces are exported:
 * with tracing off they would wrap every request and query for spans nobody records.
 */
export function instrumentations(options: { traces: boolean }): Instrumentation[] {
  const runtime = new RuntimeNodeInstrumentation()
  if (!options.traces) return [runtime]
  return [
    runtime,
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '/').split('?', 1)[0]!),
      // The service calls nothing over HTTP; the OTLP exporter's own requests are not traced.
      disableOutgoingRequestInstrumentation: true,
    }),
    // Queries outside a request (migrations, the TimescaleDB job runner) start no traces.
    // Connection checkouts get no spans of their own: the writer's span less its queries is
    // that wait, and two fewer spans per upload is measurably cheaper (npm run bench:tracing).
    new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
  ]
}

/**
 * Spans only from HTTP and pg: the service's own instruments (http-metrics.ts, ingest-metrics.ts,
 * pool-metrics.ts) already measure requests, writes and connections under the same names, and
 * a second `db.client.operation.duration` from another meter would clash on /metrics. A no-op
 * meter, not a dropping view: the SDK would still hash the attributes of every recording, which
 * measurably cost each upload (npm run bench:tracing). Call after NodeSDK.start(), which hands
 * every instrumentation the global meter provider.
 */
export function withoutInstrumentationMetrics(enabled: Instrumentation[]): void {
  const noMetrics: MeterProvider = { getMeter: () => createNoopMeter() }
  for (const instrumentation of enabled) {
    if (instrumentation instanceof HttpInstrumentation || instrumentation instanceof PgInstrumentation) instrumentation.setMeterProvider(noMetrics)
  }
}

/**
 * The service is ESM: `node:http` (via @hono/node-server) and `pg` (via the pool) were loaded
 * by static imports before the SDK started, so require-in-the-middle never saw them load.
 * Requiring them once more through CommonJS hands their loaded exports to the instrumentations,
 * which patch the shared prototypes (`Server.prototype.emit`, `Client.prototype.query`,
 * `Pool.prototype.connect`) that the servers and pools, existing or not, all use.
 */
export function instrumentLoadedModules(): void {
  const require = createRequire(import.meta.url)
  require('http')
  require('pg')
  // pg's own copy of pg-pool, wherever npm placed it.
  createRequire(require.resolve('pg'))('pg-pool')
}
