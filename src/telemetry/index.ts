// OpenTelemetry for the service, started by NodeSDK: meters exported in Prometheus text format
// on `/metrics`, traces of uploads exported over OTLP when OTEL_TRACES_EXPORTER asks for it, and
// one resource (service, version, instance, host, process, container) for both.
//
// NodeSDK reads the standard OTEL_* variables itself; src/config.ts lists and checks them and
// decides the one default that differs from the SDK's: no trace exporter unless configured.
import { readFileSync } from 'node:fs'
import { context, metrics, propagation, trace, type Meter } from '@opentelemetry/api'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { containerDetector } from '@opentelemetry/resource-detector-container'
import { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes, serviceInstanceIdDetector, type Resource } from '@opentelemetry/resources'
import { NodeSDK } from '@opentelemetry/sdk-node'
import type { MiddlewareHandler } from 'hono'
import type pg from 'pg'
import type { Config, OtelConfig } from '../config.ts'
import { httpServerMetrics } from './http-metrics.ts'
import { ingestMetrics, type IngestMetrics } from './ingest-metrics.ts'
import { serveMetrics } from './metrics-server.ts'
import { observePoolMetrics } from './pool-metrics.ts'
import { observeProcessMemory } from './process-metrics.ts'
import { timescaleJobMetrics, type TimescaleJobMetrics } from './timescale-job-metrics.ts'
import { describeServerSpan } from './tracing.ts'
import { instrumentLoadedModules, instrumentations, withoutInstrumentationMetrics } from './tracing-instrumentations.ts'
import { METRIC_VIEWS } from './views.ts'

export { METRICS_PATH } from './metrics-server.ts'

export const SERVICE_NAME = 'telemetry-store'

const SERVICE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

export interface Telemetry extends IngestMetrics, TimescaleJobMetrics {
  /** Port `/metrics` listens on. */
  metricsPort: number
  /** Where traces go, for the ready log line: `off`, or the exporter and its endpoint. */
  traces: string
  /** Records http.server.request.duration and names the trace's server span; mount it first (`app.use('*', ...)`). */
  httpMiddleware: MiddlewareHandler
  /** Connection counts of the pool, read at each scrape. Call once. */
  observePool(pool: pg.Pool): void
  /** Ends the meters and flushes the spans not yet exported. */
  shutdown(): Promise<void>
}

/** What a caller that names no OTEL_* settings gets: metrics, no traces. */
const TRACES_OFF: Pick<OtelConfig, 'sdkDisabled' | 'serviceName' | 'tracesExporter'> = { sdkDisabled: false, serviceName: SERVICE_NAME, tracesExporter: 'none' }

type TelemetryConfig = Pick<Config, 'metricsHost' | 'metricsPort'> & { otel?: OtelConfig }

/**
 * Starts NodeSDK and the `/metrics` listener on `config.metricsHost:config.metricsPort`.
 * NodeSDK registers process-wide globals: one running instance per process.
 *
 * ```ts
 * const telemetry = await startTelemetry(config)
 * app.use('*', telemetry.httpMiddleware)
 * ```
 */
export async function startTelemetry(config: TelemetryConfig): Promise<Telemetry> {
  const otel = config.otel ?? TRACES_OFF
  const tracesExported = otel.tracesExporter !== 'none' && !otel.sdkDisabled
  const exporter = new PrometheusExporter({
    preventServerStart: true,
    // Every series would otherwise carry otel_scope_* labels that no query needs.
    withoutScopeInfo: true,
  })
  const enabled = instrumentations({ traces: tracesExported })
  const sdk = new NodeSDK({
    serviceName: otel.serviceName,
    resource: await detectedResource(),
    autoDetectResources: false,
    metricReaders: [exporter],
    views: METRIC_VIEWS,
    instrumentations: enabled,
    // With tracing off: no span processors, so no tracer provider and spans are no-ops.
    // Otherwise the SDK builds the exporter, its batching and the sampler from OTEL_* variables.
    ...(tracesExported ? {} : { spanProcessors: [] }),
    // Logs are pino's JSON lines on stdout (with trace ids), not exported over OTLP.
    logRecordProcessors: [],
  })
  sdk.start()
  withoutInstrumentationMetrics(enabled)
  if (tracesExported) instrumentLoadedModules()
  // With no spans to carry, the context manager's AsyncLocalStorage would only cost every
  // promise of every request: take it out again.
  else context.disable()
  const meter: Meter = metrics.getMeter(SERVICE_NAME)
  observeProcessMemory(meter)

  const stopSdk = async (): Promise<void> => {
    // The last spans' export may fail (no collector): that must not turn a clean stop into a
    // failed one. The SDK reports its export errors itself when OTEL_LOG_LEVEL asks for them.
    await sdk.shutdown().catch(() => undefined)
    // Let a later startTelemetry in the same process (a test) register its own.
    for (const api of [metrics, trace, context, propagation]) api.disable()
  }
  const server = await serveMetrics(exporter, config.metricsHost, config.metricsPort).catch(async (error) => {
    await stopSdk()
    throw error
  })

  return {
    metricsPort: server.port,
    traces: tracesExported ? describeTraceExport(otel as OtelConfig) : 'off',
    httpMiddleware: chain(httpServerMetrics(meter), describeServerSpan() as MiddlewareHandler),
    ...ingestMetrics(meter),
    ...timescaleJobMetrics(meter),
    observePool: (pool) => observePoolMetrics(meter, pool),
    async shutdown() {
      await server.close()
      await stopSdk()
    },
  }
}

/**
 * service.version from package.json, then what the detectors find (OTEL_RESOURCE_ATTRIBUTES
 * may override any of it). Detected once, before the SDK starts, so that the first scrape's
 * target_info already holds the attributes read from files (host.id, container.id).
 */
async function detectedResource(): Promise<Resource> {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.version': SERVICE_VERSION }))
    .merge(detectResources({ detectors: [envDetector, processDetector, hostDetector, serviceInstanceIdDetector, containerDetector] }))
  await resource.waitForAsyncAttributes?.()
  return resource
}

/** `outer` wraps `inner`, which wraps the rest of the app. */
function chain(outer: MiddlewareHandler, inner: MiddlewareHandler): MiddlewareHandler {
  return (c, next) => outer(c, async () => {
    await inner(c, next)
  })
}

function describeTraceExport(otel: OtelConfig): string {
  const sampling = otel.tracesSampler.endsWith('traceidratio') ? `${otel.tracesSampler} ${otel.tracesSamplerRatio}` : otel.tracesSampler
  const destination = otel.tracesExporter === 'otlp' ? ` ${otel.otlpProtocol} ${otel.otlpEndpoint}` : ''
  return `${otel.tracesExporter}${destination}, ${sampling}`
}
