// The Hono app in process (app.request), with stand-ins for the database's functions: what a
// client is told when the database fails in a given way, without a server or a database that
// would have to be made to fail. The same answers over a real server and a real database are
// in faults.test.ts and database-errors.test.ts.
import { metrics } from '@opentelemetry/api'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import type { IngestStore } from '../src/db/ingest-store.ts'
import { createApp } from '../src/http/app.ts'
import { createLogger } from '../src/logger.ts'
import { httpServerMetrics } from '../src/telemetry/http-metrics.ts'
import { ingestMetrics } from '../src/telemetry/ingest-metrics.ts'

const TOKEN = 'test-token'
const SAMPLE = '{"id":"1","data":{"@type":"type.googleapis.com/Location","latitude":48.85,"longitude":2.35},"timestamp":"2024-03-01T08:00:00Z"}\n'

function appWith(store: Partial<IngestStore>) {
  const config = loadConfig({ RETRY_AFTER_SECONDS: '7', LOG_LEVEL: 'silent' })
  const meter = metrics.getMeter('test') // no provider: records nothing
  const app = createApp({
    ...config,
    findDevice: async (token) => (token === TOKEN ? { id: 1, name: 'phone' } : undefined),
    writeSamples: async () => ({ location: 1, activity: 0, acceleration: 0, other: 0 }),
    ping: async () => {},
    ...store,
    logger: createLogger(config),
    telemetry: { httpMiddleware: httpServerMetrics(meter), ...ingestMetrics(meter) },
  })
  const upload = (body = SAMPLE, token = TOKEN) =>
    Promise.resolve(app.request('/v1/samples', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body }))
  return { app, upload }
}

const sqlError = (code: string, message: string) => Object.assign(new Error(message), { code })

describe('uploads, with the writer standing in for the database', () => {
  it('answers what the writer stored', async () => {
    const response = await appWith({}).upload()
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ accepted: 1, duplicates: 0, byKind: { location: 1, activity: 0, acceleration: 0, other: 0 } })
  })

  it('a database that is restarting: 503 with Retry-After, so the client retries', async () => {
    const response = await appWith({ writeSamples: () => Promise.reject(sqlError('57P03', 'the database system is starting up')) }).upload()
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('7')
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('database_unavailable')
  })

  it('a constraint the upload breaks: 500 naming the request id, and no Retry-After (a retry fails alike)', async () => {
    const response = await appWith({ writeSamples: () => Promise.reject(sqlError('23514', 'new row violates check constraint')) }).upload()
    expect(response.status).toBe(500)
    expect(response.headers.get('retry-after')).toBeNull()
    const { error } = (await response.json()) as { error: { code: string; details: { requestId: string } } }
    expect(error.code).toBe('internal_error')
    expect(error.details.requestId).toBe(response.headers.get('x-request-id'))
  })

  it('a body that does not decode never reaches the writer', async () => {
    let writes = 0
    const response = await appWith({ writeSamples: async () => ({ location: writes++, activity: 0, acceleration: 0, other: 0 }) }).upload('{"id":"1"\n')
    expect(response.status).toBe(400)
    expect(writes).toBe(0)
  })

  it('a token the database does not know: 401, nothing written', async () => {
    let writes = 0
    const response = await appWith({ writeSamples: async () => ({ location: writes++, activity: 0, acceleration: 0, other: 0 }) }).upload(SAMPLE, 'unknown')
    expect(response.status).toBe(401)
    expect(writes).toBe(0)
  })
})

describe('/readyz, with ping standing in for the database', () => {
  it('is ready while the database answers, 503 with Retry-After while it does not', async () => {
    expect((await appWith({}).app.request('/readyz')).status).toBe(200)
    const down = await appWith({ ping: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) }).app.request('/readyz')
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('7')
    // /healthz is the process, not the database: still 200.
    expect((await appWith({ ping: () => Promise.reject(new Error('down')) }).app.request('/healthz')).status).toBe(200)
  })
})
