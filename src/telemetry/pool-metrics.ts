// Connection pool state, read when Prometheus scrapes (observable instruments), named by the
// OpenTelemetry database client conventions. Saturation is used / max; pending requests are
// uploads waiting for a connection.
import type { Meter } from '@opentelemetry/api'
import type pg from 'pg'

export function observePoolMetrics(meter: Meter, pool: pg.Pool): void {
  const connections = meter.createObservableUpDownCounter('db.client.connection.count', {
    description: 'Connections the pool holds, by state (idle or used).',
    unit: '{connection}',
  })
  const maxConnections = meter.createObservableUpDownCounter('db.client.connection.max', {
    description: 'Most connections the pool opens.',
    unit: '{connection}',
  })
  const pendingRequests = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    description: 'Requests waiting for a free connection.',
    unit: '{request}',
  })
  meter.addBatchObservableCallback(
    (result) => {
      result.observe(connections, pool.idleCount, { 'db.client.connection.state': 'idle' })
      result.observe(connections, pool.totalCount - pool.idleCount, { 'db.client.connection.state': 'used' })
      result.observe(maxConnections, pool.options.max)
      result.observe(pendingRequests, pool.waitingCount)
    },
    [connections, maxConnections, pendingRequests],
  )
}
