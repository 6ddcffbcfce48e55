// The scrape endpoint on its own listener, apart from the upload port: it can stay on loopback
// (or a cluster-internal address) while uploads are public. The exporter's built-in server is
// not used because it cannot listen on port 0 (it reads 0 as "use the default 9464").
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus'

export const METRICS_PATH = '/metrics'

export interface MetricsServer {
  /** The bound port (the configured one, or the one the system chose for port 0). */
  port: number
  close(): Promise<void>
}

export async function serveMetrics(exporter: PrometheusExporter, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics').pathname
    if (path === METRICS_PATH && (request.method === 'GET' || request.method === 'HEAD')) {
      exporter.getMetricsRequestHandler(request, response)
      return
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: scrape ${METRICS_PATH}\n`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        // Prometheus keeps its scrape connection alive; without this close() would wait for it.
        server.closeAllConnections()
      }),
  }
}
