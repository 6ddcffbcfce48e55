// The metrics module as Prometheus sees it: a real Hono app on a real port with the telemetry
// middleware, real requests, and /metrics scraped over HTTP after each step. Every assertion
// is on the exposition text, with the names dashboards and alert rules use.
import { once } from 'node:events'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTelemetry, type Telemetry } from '../src/telemetry/index.ts'
import { emptySampleBatch } from '../src/codec/index.ts'
import { DURATION_BUCKETS_SECONDS } from '../src/telemetry/views.ts'
import { startPrometheus } from './support/prometheus.ts'
import { temporaryDir } from './support/service.ts'
import { startEmbeddedDatabase } from '../src/db/embedded/index.ts'
import { createPool, withClient, withMeasuredClient } from '../src/db/pool.ts'
import { createLogger } from '../src/logger.ts'

let telemetry: Telemetry
let server: ServerType
let baseUrl: string

beforeAll(async () => {
  telemetry = await startTelemetry({ metricsHost: '127.0.0.1', metricsPort: 0 })
  const app = new Hono()
  app.use('*', telemetry.httpMiddleware)
  // Shaped like the service: authentication as middleware in front of the upload route.
  app.use('/v1/*', async (c, next) => {
    if (c.req.header('authorization') !== 'Bearer good') return c.json({ error: 'unauthorized' }, 401)
    await next()
  })
  app.post('/v1/samples', (c) => c.json({ accepted: 0 }))
  app.get('/devices/:id', (c) => c.json({ id: c.req.param('id') }))
  app.get('/fails', () => {
    throw new Error('handler failed')
  })
  app.onError((_error, c) => c.json({ error: 'internal' }, 500))
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await telemetry?.shutdown()
})

async function scrape(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${telemetry.metricsPort}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
  return response.text()
}

/** Value of the series named `name` with exactly these labels; undefined when absent. */
function seriesValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort())
  for (const line of exposition.split('\n')) {
    const parsed = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!parsed || parsed[1] !== name) continue
    const seriesLabels = [...(parsed[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]])
    if (JSON.stringify(seriesLabels.sort()) === wanted) return Number(parsed[3])
  }
  return undefined
}

const none = { location: 0, activity: 0, acceleration: 0, other: 0 }

describe('telemetry /metrics', () => {
  it('listens on the port the system chose and answers 404 beside /metrics', async () => {
    expect(telemetry.metricsPort).toBeGreaterThan(0)
    const other = await fetch(`http://127.0.0.1:${telemetry.metricsPort}/`)
    expect(other.status).toBe(404)
    await other.text()
  })

  it('exports every counter at 0 before its first event', async () => {
    // Scraped before any test records anything: the counters exist, at zero.
    const exposition = await scrape()
    for (const kind of ['location', 'activity', 'acceleration', 'other']) {
      for (const name of ['telemetry_samples_received_total', 'telemetry_samples_stored_total', 'telemetry_samples_duplicate_total']) {
        expect(seriesValue(exposition, name, { kind }), `${name} ${kind}`).toBe(0)
      }
    }
    for (const name of ['telemetry_uploads_rejected_total', 'telemetry_samples_rejected_total', 'telemetry_db_write_errors_total']) {
      expect(seriesValue(exposition, name), name).toBe(0)
    }
  })

  it('counts 1,000 stored locations as exactly 1,000, and duplicates as received minus stored', async () => {
    const before = await scrape()
    telemetry.recordUpload({ bytes: 48_000, samples: 1000, received: { ...none, location: 1000 }, stored: { ...none, location: 1000 } })
    telemetry.recordUpload({
      bytes: 3_000,
      samples: 60,
      received: { ...none, activity: 10, acceleration: 50 },
      stored: { ...none, activity: 4, acceleration: 50 },
    })
    const after = await scrape()
    const moved = (name: string, labels: Record<string, string> = {}) =>
      (seriesValue(after, name, labels) ?? 0) - (seriesValue(before, name, labels) ?? 0)

    expect(moved('telemetry_samples_stored_total', { kind: 'location' })).toBe(1000)
    expect(moved('telemetry_samples_received_total', { kind: 'location' })).toBe(1000)
    expect(moved('telemetry_samples_duplicate_total', { kind: 'location' })).toBe(0)
    expect(moved('telemetry_samples_received_total', { kind: 'activity' })).toBe(10)
    expect(moved('telemetry_samples_stored_total', { kind: 'activity' })).toBe(4)
    expect(moved('telemetry_samples_duplicate_total', { kind: 'activity' })).toBe(6)
    expect(moved('telemetry_samples_stored_total', { kind: 'acceleration' })).toBe(50)
    expect(moved('telemetry_samples_stored_total', { kind: 'other' })).toBe(0)

    expect(moved('telemetry_upload_size_bytes_count')).toBe(2)
    expect(moved('telemetry_upload_size_bytes_sum')).toBe(51_000)
    // 48,000 bytes falls in the 64 KiB bucket, 3,000 bytes already in the 4 KiB one.
    expect(moved('telemetry_upload_size_bytes_bucket', { le: '4096' })).toBe(1)
    expect(moved('telemetry_upload_size_bytes_bucket', { le: '65536' })).toBe(2)
    expect(moved('telemetry_upload_samples_bucket', { le: '50' })).toBe(0)
    expect(moved('telemetry_upload_samples_bucket', { le: '100' })).toBe(1)
    expect(moved('telemetry_upload_samples_bucket', { le: '1000' })).toBe(2)
  })

  it('counts refused uploads and their samples by the error code', async () => {
    const before = await scrape()
    telemetry.recordRejected('invalid_sample', 250)
    telemetry.recordRejected('invalid_sample', 1)
    telemetry.recordRejected('unauthorized', 0)
    const after = await scrape()
    const moved = (name: string, labels: Record<string, string>) =>
      (seriesValue(after, name, labels) ?? 0) - (seriesValue(before, name, labels) ?? 0)
    expect(moved('telemetry_uploads_rejected_total', { reason: 'invalid_sample' })).toBe(2)
    expect(moved('telemetry_samples_rejected_total', { reason: 'invalid_sample' })).toBe(251)
    expect(moved('telemetry_uploads_rejected_total', { reason: 'unauthorized' })).toBe(1)
  })

  it('shows uploads in flight until each one finishes, once', async () => {
    const finishFirst = telemetry.uploadStarted()
    const finishSecond = telemetry.uploadStarted()
    expect(seriesValue(await scrape(), 'telemetry_uploads_in_flight')).toBe(2)
    finishFirst()
    finishFirst()
    expect(seriesValue(await scrape(), 'telemetry_uploads_in_flight')).toBe(1)
    finishSecond()
    expect(seriesValue(await scrape(), 'telemetry_uploads_in_flight')).toBe(0)
  })

  it('times the writer\'s operation from when it has a connection, and the wait for one apart', async () => {
    // The real client path: the embedded database, a pool of one connection, withMeasuredClient
    // as the writer calls it.
    const dataDir = temporaryDir()
    const logger = createLogger({ logLevel: 'silent' })
    const database = await startEmbeddedDatabase({ dataDir, host: '127.0.0.1', port: 0, idleInTransactionTimeoutMs: 5000, fsync: false, maxMessageBytes: 1 << 20, password: undefined, logger })
    const pool = createPool(database.url, { dbPoolSize: 1, dbConnectTimeoutMs: 30_000 }, logger)
    try {
      telemetry.observePool(pool)
      await pool.query('select 1') // the connection exists: no checkout below waits for its creation
      const before = await scrape()
      // One checkout holds the only connection for a second; the measured operation queues
      // behind it as soon as it has it, so it waits about that second, then runs in a moment.
      let holderHasIt!: () => void
      const held = new Promise<void>((resolve) => (holderHasIt = resolve))
      const holding = withClient(pool, async (client) => {
        holderHasIt()
        await client.query('select pg_sleep(1)')
      })
      await held
      await Promise.all([holding, withMeasuredClient(pool, 'BATCH INSERT', (client) => client.query('select 1'))])
      await expect(withMeasuredClient(pool, 'BATCH INSERT', (client) => client.query('select 1/0'))).rejects.toThrow(/division by zero/)
      const after = await scrape()
      const moved = (name: string, labels: Record<string, string>) => (seriesValue(after, name, labels) ?? 0) - (seriesValue(before, name, labels) ?? 0)

      const ok = { db_system_name: 'postgresql', db_operation_name: 'BATCH INSERT' }
      expect(moved('db_client_operation_duration_seconds_count', ok)).toBe(1)
      expect(moved('db_client_operation_duration_seconds_bucket', { ...ok, le: '0.5' })).toBe(1)
      expect(moved('db_client_operation_duration_seconds_count', { ...ok, error_type: '22012' })).toBe(1)
      const waits = { db_client_connection_pool_name: 'telemetry-store' }
      expect(moved('db_client_connection_wait_time_seconds_count', waits)).toBe(3)
      // Of the three checkouts only the measured one waited, for the holder's second.
      expect(moved('db_client_connection_wait_time_seconds_count', waits) - moved('db_client_connection_wait_time_seconds_bucket', { ...waits, le: '0.5' })).toBe(1)
    } finally {
      await pool.end()
      await database.close()
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('counts uploads the writer could not store by error type', async () => {
    telemetry.recordDbWriteError('57P01')
    expect(seriesValue(await scrape(), 'telemetry_db_write_errors_total', { error_type: '57P01' })).toBe(1)
  })

  it('records the ingest lag of the newest sample of each kind, in seconds', async () => {
    const now = Date.UTC(2026, 0, 2)
    const batch = emptySampleBatch()
    // Locations from 2 and 90 minutes ago: the newest is 120 s behind. One activity a day old.
    batch.location.seconds.push(now / 1000 - 5400, now / 1000 - 120)
    batch.activity.seconds.push(now / 1000 - 86_400)
    const before = await scrape()
    telemetry.recordIngestLag(batch, now)
    const after = await scrape()
    const moved = (labels: Record<string, string>) =>
      (seriesValue(after, 'telemetry_ingest_lag_seconds_bucket', labels) ?? 0) - (seriesValue(before, 'telemetry_ingest_lag_seconds_bucket', labels) ?? 0)
    expect(moved({ kind: 'location', le: '60' })).toBe(0)
    expect(moved({ kind: 'location', le: '300' })).toBe(1)
    expect(moved({ kind: 'activity', le: '43200' })).toBe(0)
    expect(moved({ kind: 'activity', le: '86400' })).toBe(1)
    expect(seriesValue(after, 'telemetry_ingest_lag_seconds_count', { kind: 'acceleration' })).toBeUndefined()
  })

  it('counts TimescaleDB job runs and failures by procedure and hypertable, failures from 0', async () => {
    const countRun = telemetry.timescaleJobRunCounter()
    const job = { proc_name: 'policy_compression', hypertable: 'public.location_samples' }
    countRun({ procName: 'policy_compression', relation: 'public.location_samples', failed: false })
    let exposition = await scrape()
    expect(seriesValue(exposition, 'timescaledb_job_runs_total', job)).toBe(1)
    expect(seriesValue(exposition, 'timescaledb_job_failures_total', job)).toBe(0)
    countRun({ procName: 'policy_compression', relation: 'public.location_samples', failed: true })
    exposition = await scrape()
    expect(seriesValue(exposition, 'timescaledb_job_runs_total', job)).toBe(2)
    expect(seriesValue(exposition, 'timescaledb_job_failures_total', job)).toBe(1)
  })

  it('records request duration by route pattern, method and status', async () => {
    const requests = [
      fetch(`${baseUrl}/v1/samples`, { method: 'POST', headers: { authorization: 'Bearer good' } }),
      fetch(`${baseUrl}/v1/samples`, { method: 'POST' }),
      fetch(`${baseUrl}/devices/17`),
      fetch(`${baseUrl}/devices/18`),
      fetch(`${baseUrl}/fails`),
      fetch(`${baseUrl}/scanner/probe/${Date.now()}`),
    ]
    for (const response of await Promise.all(requests)) await response.arrayBuffer()
    const after = await scrape()
    const count = (labels: Record<string, string>) => seriesValue(after, 'http_server_request_duration_seconds_count', labels)

    expect(count({ http_route: '/v1/samples', http_request_method: 'POST', http_response_status_code: '200' })).toBe(1)
    // Refused by the authentication middleware: still counted under the route it was meant for.
    expect(count({ http_route: '/v1/samples', http_request_method: 'POST', http_response_status_code: '401' })).toBe(1)
    // Two device ids, one series: the pattern, not the path.
    expect(count({ http_route: '/devices/:id', http_request_method: 'GET', http_response_status_code: '200' })).toBe(2)
    expect(count({ http_route: '/fails', http_request_method: 'GET', http_response_status_code: '500', error_type: '500' })).toBe(1)
    expect(after).not.toContain('/scanner/probe')
    expect(count({ http_request_method: 'GET', http_response_status_code: '404' })).toBe(1)

    // Every bucket boundary is exposed, so p50/p99 of fast requests can be told apart.
    const le = [...after.matchAll(/^http_server_request_duration_seconds_bucket\{[^}]*http_route="\/devices\/:id"[^}]*le="([^"]+)"/gm)].map((m) => m[1])
    expect(le).toEqual([...DURATION_BUCKETS_SECONDS.map(String), '+Inf'])
  })

  it('reports the pool by connection state, with its maximum and waiting requests', async () => {
    // A pool that reaches no database: its counts are all the test needs.
    const pool = new pg.Pool({ max: 3 })
    telemetry.observePool(pool)
    const exposition = await scrape()
    expect(seriesValue(exposition, 'db_client_connections_usage', { db_client_connection_state: 'idle' })).toBe(0)
    expect(seriesValue(exposition, 'db_client_connections_usage', { db_client_connection_state: 'used' })).toBe(0)
    expect(seriesValue(exposition, 'db_client_connection_max')).toBe(3)
    expect(seriesValue(exposition, 'db_client_connection_pending_requests')).toBe(0)
    await pool.end()
  })

  it('exports Node runtime metrics and resident memory', async () => {
    // The event loop delay monitor reports once it has a few 10 ms samples.
    await new Promise((resolve) => setTimeout(resolve, 120))
    const exposition = await scrape()
    expect(seriesValue(exposition, 'process_memory_usage_bytes')).toBeGreaterThan(10 * 1024 * 1024)
    expect(seriesValue(exposition, 'nodejs_eventloop_delay_p99_seconds')).toBeGreaterThan(0)
    expect(seriesValue(exposition, 'nodejs_eventloop_utilization_ratio')).toBeGreaterThanOrEqual(0)
    expect(seriesValue(exposition, 'v8js_memory_heap_used_bytes', { v8js_heap_space_name: 'old_space' })).toBeGreaterThan(0)
    // The resource NodeSDK detected: service, version, instance, host and process.
    const targetInfo = exposition.split('\n').find((line) => line.startsWith('target_info{'))
    for (const label of ['service_name="telemetry-store"', 'service_version="', 'service_instance_id="', 'host_name="', `process_pid="${process.pid}"`]) {
      expect(targetInfo).toContain(label)
    }
  })

  it('is scraped by a real Prometheus, which stores the values /metrics shows', async () => {
    const prometheus = await startPrometheus({ target: `127.0.0.1:${telemetry.metricsPort}` })
    try {
      let up: { value: [number, string] }[] = []
      for (let attempt = 0; attempt < 100 && up[0]?.value[1] !== '1'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        up = await prometheus.query('up{job="telemetry-store"}')
      }
      expect(up[0]?.value[1], prometheus.output()).toBe('1')
      const exposition = await scrape()
      for (const [promql, name, labels] of [
        ['telemetry_samples_stored_total{kind="location"}', 'telemetry_samples_stored_total', { kind: 'location' }],
        ['telemetry_uploads_rejected_total{reason="invalid_sample"}', 'telemetry_uploads_rejected_total', { reason: 'invalid_sample' }],
        ['db_client_connection_max', 'db_client_connection_max', {}],
      ] as const) {
        const [stored] = await prometheus.query(promql)
        expect(Number(stored?.value[1]), promql).toBe(seriesValue(exposition, name, labels))
      }
      const buckets = await prometheus.query('http_server_request_duration_seconds_bucket{http_route="/devices/:id", http_response_status_code="200"}')
      expect(buckets).toHaveLength(DURATION_BUCKETS_SECONDS.length + 1)
      expect(await prometheus.query('nodejs_eventloop_delay_p99_seconds')).toHaveLength(1)
    } finally {
      await prometheus.stop()
    }
  })
})
