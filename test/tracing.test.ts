// Traces end to end: the real service exports OTLP/HTTP JSON to a receiver run by the test, and
// a real upload must arrive as one trace: the HTTP server span, the decode span, the writer's
// span with the pg query spans under it, the device by id and the token nowhere; and the log
// line of a failed upload names that upload's trace.
import { readFileSync, rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.ts'
import { addDevice } from '../src/db/devices.ts'
import { WIRE_BODIES } from './support/fixtures.ts'
import { sqlClient, upload } from './support/http.ts'
import { attribute, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.ts'
import { startService, type RunningService } from './support/service.ts'

const SERVER = 2 // SpanKind.SERVER in OTLP's numbering (INTERNAL 1, SERVER 2, CLIENT 3)
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

let receiver: OtlpReceiver
let database: RunningService // owns the embedded TimescaleDB; stopped to make an upload fail
let service: RunningService // the traced service, with DATABASE_URL -> database
let token: string
let deviceId: number

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  database = await startService()
  service = await startService({
    env: {
      DATABASE_URL: database.databaseUrl,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      // Export each batch after 50 ms instead of 5 s: the test waits on the spans' arrival.
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  })
  const sql = await sqlClient(database.databaseUrl)
  const device = await addDevice(sql, 'traced-phone')
  await sql.end()
  token = device.token
  deviceId = device.device.id
})

afterAll(async () => {
  await service?.stop()
  await database?.stop()
  await receiver?.close()
  for (const dataDir of [service?.dataDir, database?.dataDir]) if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

/** The finished trace of the upload whose server span has `traceId` (or the first server span). */
async function uploadTrace(match: (server: ReceivedSpan) => boolean): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
  // The server span ends last: once it is here, its children have been exported too.
  const spans = await receiver.waitFor((received) => received.some((span) => span.kind === SERVER && match(span)))
  const server = spans.find((span) => span.kind === SERVER && match(span))!
  return { server, spans: spans.filter((span) => span.traceId === server.traceId) }
}

function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((span) => span.parentSpanId === parent.spanId)
}

describe('a trace of every upload', () => {
  it('holds the server span, the decode span and the write span with the pg queries under it', async () => {
    const answer = await upload(service.baseUrl, WIRE_BODIES.collection, { contentType: 'application/x-protobuf', token: token })
    expect(answer.status).toBe(200)
    const { server, spans } = await uploadTrace((span) => attribute(span.attributes, 'http.route') === '/v1/samples')

    expect(server.name).toBe('POST /v1/samples')
    expect(server.parentSpanId || undefined).toBeUndefined()
    expect(attribute(server.attributes, 'device.id')).toBe(deviceId)
    expect(attribute(server.attributes, 'http.status_code') ?? attribute(server.attributes, 'http.response.status_code')).toBe(200)

    const children = childrenOf(spans, server)
    const decode = children.find((span) => span.name === 'upload.decode')
    expect(decode, JSON.stringify(children.map((span) => span.name))).toBeDefined()
    expect(attribute(decode!.attributes, 'upload.format')).toBe('collection')
    expect(attribute(decode!.attributes, 'upload.bytes')).toBe(WIRE_BODIES.collection.length)
    expect(attribute(decode!.attributes, 'upload.samples')).toBe(6)
    expect(
      ['location', 'activity', 'acceleration', 'other'].map((kind) => attribute(decode!.attributes, `upload.samples.${kind}`)),
    ).toEqual([2, 2, 1, 1])

    const write = children.find((span) => span.name === 'upload.write')
    expect(write, JSON.stringify(children.map((span) => span.name))).toBeDefined()
    const queries = childrenOf(spans, write!).map((span) => String(attribute(span.attributes, 'db.statement') ?? attribute(span.attributes, 'db.query.text')))
    expect(queries).toContain('begin')
    // The upload's bookkeeping shares one simple query with the COMMIT (pool.ts, transaction's `commitWith`).
    expect(queries.some((query) => /^select record_upload\(.*\); commit$/s.test(query)), queries.join(' | ')).toBe(true)
    // The samples go in by COPY (the writer makes these spans: the pg instrumentation makes none for a COPY).
    for (const table of ['location_samples', 'activity_samples', 'acceleration_samples', 'other_samples']) {
      expect(queries.some((query) => query.includes(`copy ${table}`)), `${table} in ${queries.join(' | ')}`).toBe(true)
    }

    // The resource names the service, its version, the instance and where it runs.
    expect(attribute(server.resource, 'service.name')).toBe('telemetry-store')
    expect(attribute(server.resource, 'service.version')).toBe(PACKAGE_VERSION)
    expect(attribute(server.resource, 'service.instance.id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(attribute(server.resource, 'host.name')).toBeTruthy()
    expect(attribute(server.resource, 'process.pid')).toBe(service.process.pid)
  })

  it('continues a trace the client started (W3C traceparent) and samples as its parent did', async () => {
    const traceId = 'abcdef0123456789abcdef0123456789'
    const parentSpanId = '0123456789abcdef'
    const response = await fetch(`${service.baseUrl}/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${parentSpanId}-01` },
      body: WIRE_BODIES.ndjson,
    })
    expect(response.status).toBe(200)
    await response.text()
    const { server } = await uploadTrace((span) => span.traceId === traceId)
    expect(server.parentSpanId).toBe(parentSpanId)
  })

  it('exports no token and no trace of probes', async () => {
    await (await fetch(`${service.baseUrl}/healthz`)).text()
    await (await fetch(`${service.baseUrl}/readyz`)).text()
    // A refused upload is traced too, with its status.
    const refused = await upload(service.baseUrl, '{"samples": [', { contentType: 'application/json', token: token })
    expect(refused.status).toBe(400)
    const { server } = await uploadTrace((span) => (attribute(span.attributes, 'http.status_code') ?? attribute(span.attributes, 'http.response.status_code')) === 400)
    expect(server.name).toBe('POST /v1/samples')
    const secret = token.split('.')[1]!
    const exported = receiver.bodies.join('\n')
    expect(exported).not.toContain(token)
    expect(exported).not.toContain(secret)
    expect(receiver.spans.filter((span) => /healthz|readyz|metrics/.test(`${span.name} ${JSON.stringify(span.attributes)}`))).toEqual([])
  })

  it('adds spans, not series: /metrics shows each metric once, none from the instrumentations', async () => {
    const exposition = await (await fetch(service.metricsUrl)).text()
    const types = exposition.split('\n').filter((line) => line.startsWith('# TYPE ')).map((line) => line.split(' ')[2]!)
    expect(types.length).toBe(new Set(types).size)
    expect(types).toContain('http_server_request_duration_seconds')
    expect(types).toContain('db_client_operation_duration_seconds')
    // What @opentelemetry/instrumentation-http would record in its old semantic conventions.
    expect(types.filter((name) => /^http_(server|client)_duration/.test(name))).toEqual([])
  })

  it('names the trace and span in the log line of a failed upload', async () => {
    await database.stop()
    const failed = await upload(service.baseUrl, WIRE_BODIES.collection, { contentType: 'application/x-protobuf', token })
    expect(failed.status).toBe(503)
    const { server } = await uploadTrace((span) => (attribute(span.attributes, 'http.status_code') ?? attribute(span.attributes, 'http.response.status_code')) === 503)
    const logged = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.level === 50 && line.path === '/v1/samples')
    expect(logged, service.output()).toMatchObject({ trace_id: server.traceId, trace_flags: '01' })
    // The line was written inside one of this trace's spans.
    const traceSpans = receiver.spans.filter((span) => span.traceId === server.traceId).map((span) => span.spanId)
    expect(traceSpans).toContain(logged!.span_id)
  })
})

describe('OTEL_* settings', () => {
  it('default to no traces, and take the standard values', () => {
    expect(loadConfig({}).otel).toEqual({
      sdkDisabled: false,
      serviceName: 'telemetry-store',
      tracesExporter: 'none',
      otlpProtocol: 'http/protobuf',
      otlpEndpoint: 'http://localhost:4318',
      tracesSampler: 'parentbased_always_on',
      tracesSamplerRatio: 1,
    })
    const configured = loadConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SDK_DISABLED: 'TRUE',
    }).otel
    expect(configured).toMatchObject({ tracesExporter: 'otlp', otlpEndpoint: 'http://localhost:4317', tracesSamplerRatio: 0.25, sdkDisabled: true })
  })

  it('refuse a misspelt exporter, sampler, ratio or endpoint, naming the variable', () => {
    for (const [name, value] of [
      ['OTEL_TRACES_EXPORTER', 'jeager'],
      ['OTEL_TRACES_SAMPLER', 'ratio'],
      ['OTEL_TRACES_SAMPLER_ARG', '10%'],
      ['OTEL_TRACES_SAMPLER_ARG', '1.5'],
      ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'tempo:4318'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(ConfigError)
      expect(() => loadConfig({ [name]: value })).toThrow(name)
    }
  })
})
