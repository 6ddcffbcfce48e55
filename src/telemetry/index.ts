// OpenTelemetry meters for the service, exported in Prometheus text format on `/metrics`.
//
// The SDK pieces are wired by hand (MeterProvider + PrometheusExporter + runtime
// instrumentation) rather than through NodeSDK: NodeSDK reads OTEL_* variables of its own
// (configuration belongs in src/config.ts), starts trace and log exporters unless each is
// switched off, and registers process-wide globals, which allow one instance per process.
import type { Meter } from '@opentelemetry/api'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import type { MiddlewareHandler } from 'hono'
import type pg from 'pg'
import type { Config } from '../config.ts'
import { httpServerMetrics } from './http-metrics.ts'
import { ingestMetrics, type IngestMetrics } from './ingest-metrics.ts'
import { serveMetrics } from './metrics-server.ts'
import { observePoolMetrics } from './pool-metrics.ts'
import { observeProcessMemory } from './process-metrics.ts'
import { timescaleJobMetrics, type TimescaleJobMetrics } from './timescale-job-metrics.ts'
import { METRIC_VIEWS } from './views.ts'

export { METRICS_PATH } from './metrics-server.ts'

export const SERVICE_NAME = 'telemetry-store'

export interface Telemetry extends IngestMetrics, TimescaleJobMetrics {
  /** Port `/metrics` listens on. */
  metricsPort: number
  /** Records http.server.request.duration; mount it first (`app.use('*', ...)`). */
  httpMiddleware: MiddlewareHandler
  /** Connection counts of the pool, read at each scrape. Call once. */
  observePool(pool: pg.Pool): void
  shutdown(): Promise<void>
}

/**
 * Starts the meters and the `/metrics` listener on `config.metricsHost:config.metricsPort`.
 *
 * ```ts
 * const telemetry = await startTelemetry(config)
 * app.use('*', telemetry.httpMiddleware)
 * ```
 */
export async function startTelemetry(config: Pick<Config, 'metricsHost' | 'metricsPort'>): Promise<Telemetry> {
  const exporter = new PrometheusExporter({
    preventServerStart: true,
    // Every series would otherwise carry otel_scope_* labels that no query needs.
    withoutScopeInfo: true,
  })
  const meterProvider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME }),
    views: METRIC_VIEWS,
    readers: [exporter],
  })
  const meter: Meter = meterProvider.getMeter(SERVICE_NAME)

  // Event loop delay and utilization, heap spaces, GC durations.
  const runtime = new RuntimeNodeInstrumentation({ enabled: false })
  runtime.setMeterProvider(meterProvider)
  runtime.enable()
  observeProcessMemory(meter)

  const server = await serveMetrics(exporter, config.metricsHost, config.metricsPort).catch(async (error) => {
    runtime.disable()
    await meterProvider.shutdown()
    throw error
  })

  return {
    metricsPort: server.port,
    httpMiddleware: httpServerMetrics(meter),
    ...ingestMetrics(meter),
    ...timescaleJobMetrics(meter),
    observePool: (pool) => observePoolMetrics(meter, pool),
    async shutdown() {
      runtime.disable()
      await server.close()
      await meterProvider.shutdown()
    },
  }
}
