// The database client, named by the OpenTelemetry database client conventions: the pool's
// state, read when Prometheus scrapes (observable instruments; saturation is used / max,
// pending requests are checkouts waiting for a connection), how long each checkout waited for
// a connection, and how long the measured operations (the writer's transactions) took once
// they had one.
import type { Meter } from '@opentelemetry/api'
import type pg from 'pg'
import { observeClient } from '../db/pool.ts'

/** The pool's name in the conventions' attribute: this service has one pool. */
const POOL = { 'db.client.connection.pool.name': 'telemetry-store' } as const

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

  const waitTime = meter.createHistogram('db.client.connection.wait_time', {
    description: 'Time a checkout waited for a free connection of the pool.',
    unit: 's',
  })
  const operationDuration = meter.createHistogram('db.client.operation.duration', {
    description: "Duration of a database operation once it has a connection: the writer's transaction of a group of uploads.",
    unit: 's',
  })
  observeClient(pool, {
    connectionWaited: (seconds) => waitTime.record(seconds, POOL),
    operation: (name, seconds, errorType) =>
      operationDuration.record(seconds, { 'db.system.name': 'postgresql', 'db.operation.name': name, ...(errorType !== undefined && { 'error.type': errorType }) }),
  })
}
