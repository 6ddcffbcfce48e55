// The ingest service end to end: the real service process, real HTTP, the real embedded
// TimescaleDB. Each test uploads as a device of its own and looks at that device's rows.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import zlib from 'node:zlib'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addDevice, revokeDevice } from '../src/db/devices.ts'
import { localTokenPath } from '../src/config.ts'
import { SampleCollectionType } from '../src/codec/proto.ts'
import { startService, type RunningService } from './support/service.ts'
import { deviceRows, sqlClient, upload, addTestDevice } from './support/http.ts'
import { expectedSamples, fixture, WIRE_BODIES } from './support/fixtures.ts'
import { countStoredSamples } from '../src/db/stored-samples.ts'

const MAX_BODY_BYTES = 1024 * 1024
const IDLE_IN_TRANSACTION_MS = 1500

let service: RunningService
let sql: pg.Client

beforeAll(async () => {
  service = await startService({
    env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES), EMBEDDED_IDLE_IN_TRANSACTION_TIMEOUT: `${IDLE_IN_TRANSACTION_MS}ms` },
  })
  sql = await sqlClient(service.databaseUrl)
})

afterAll(async () => {
  await sql?.end()
  expect(await service?.stop()).toBe(0)
})

const newDevice = () => addTestDevice(sql, 'test-device')

/** expected.json as rows: exact id text, microseconds since the epoch, typed fields. */
function expectedRows(count: number): Record<string, unknown>[] {
  return expectedSamples()
    .slice(0, count)
    .map(({ id, type_url, seconds, nanos, kind, ...fields }) => ({
      kind,
      id,
      micros: (BigInt(seconds) * 1_000_000n + BigInt(Math.floor(nanos / 1000))).toString(),
      fields: kind === 'other' ? { type_url, ...fields } : fields,
    }))
    .sort((a, b) => a.id.localeCompare(b.id))
}

describe('every body format stores every sample, typed', () => {
  const formats: Array<[string, () => Uint8Array | string, string, string | undefined, number]> = [
    ['SampleCollection', () => fixture('collection.bin'), 'application/x-protobuf', undefined, 6],
    ['SampleCollection as application/protobuf', () => fixture('collection.bin'), 'application/protobuf', undefined, 6],
    ['delimited stream', () => fixture('delimited.bin'), 'application/x-protobuf; delimited=true', undefined, 6],
    ['delimited stream as octet-stream', () => fixture('delimited.bin'), 'application/octet-stream', undefined, 6],
    ['JSON SampleCollection', () => WIRE_BODIES.json, 'application/json', undefined, 5],
    ['NDJSON lines', () => fixture('samples.jsonl'), 'application/x-ndjson', undefined, 5],
    ['gzip SampleCollection', () => zlib.gzipSync(fixture('collection.bin')), 'application/x-protobuf', 'gzip', 6],
    ['gzip delimited stream', () => zlib.gzipSync(fixture('delimited.bin')), 'application/octet-stream', 'gzip', 6],
    ['gzip NDJSON', () => zlib.gzipSync(fixture('samples.jsonl')), 'application/x-ndjson', 'gzip', 5],
  ]

  it.each(formats)('%s', async (_, body, contentType, encoding, count) => {
    const device = await newDevice()
    const answer = await upload(service.baseUrl, body(), { contentType, encoding, token: device.token })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      accepted: count,
      duplicates: 0,
      byKind: { location: 2, activity: 2, acceleration: 1, other: count - 5 },
    })
    // ids above 2^53 and negative ids exact, times to the microsecond, the unknown kind verbatim
    expect(await deviceRows(sql, device.id)).toEqual(expectedRows(count))
  })

  it('is also served at POST /samples for first-version clients', async () => {
    const device = await newDevice()
    const answer = await upload(service.baseUrl, fixture('delimited.bin'), { contentType: 'application/octet-stream', token: device.token, path: '/samples' })
    expect(answer.status).toBe(200)
    expect(answer.body.accepted).toBe(6)
  })
})

describe('duplicates', () => {
  it('a second upload of the same body stores nothing and counts duplicates', async () => {
    const device = await newDevice()
    const body = fixture('collection.bin')
    const first = await upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token: device.token })
    const second = await upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token: device.token })
    expect(first.body).toMatchObject({ accepted: 6, duplicates: 0 })
    expect(second.status).toBe(200)
    expect(second.body).toEqual({ accepted: 0, duplicates: 6, byKind: { location: 2, activity: 2, acceleration: 1, other: 1 } })
    expect(await deviceRows(sql, device.id)).toHaveLength(6)
  })

  it('the same sample twice in one upload is stored once', async () => {
    const device = await newDevice()
    const line = fixture('samples.jsonl').toString().split('\n')[0]!
    const answer = await upload(service.baseUrl, `${line}\n${line}\n`, { contentType: 'application/x-ndjson', token: device.token })
    expect(answer.body).toMatchObject({ accepted: 1, duplicates: 1 })
  })

  it('the same sample id at another time is another sample', async () => {
    const device = await newDevice()
    const lines = [
      '{"id":"7","data":{"@type":"type.googleapis.com/Activity","running":true},"timestamp":"2024-03-01T08:00:00Z"}',
      '{"id":"7","data":{"@type":"type.googleapis.com/Activity","running":true},"timestamp":"2024-03-01T08:00:01Z"}',
    ].join('\n')
    expect((await upload(service.baseUrl, lines, { contentType: 'application/x-ndjson', token: device.token })).body).toMatchObject({ accepted: 2, duplicates: 0 })
  })
})

/** A SampleCollection of valid locations with one bad sample at `badIndex`. */
function collectionWithBadSample(badIndex: number, bad: Record<string, unknown>): Uint8Array {
  const location = (latitude: number) => {
    const value = Buffer.alloc(18)
    value[0] = 0x09
    value.writeDoubleLE(latitude, 1)
    value[9] = 0x11
    value.writeDoubleLE(13.4, 10)
    return { type_url: 'type.googleapis.com/Location', value }
  }
  const samples = Array.from({ length: 4 }, (_, i) => ({ id: i + 1, data: location(52.5), timestamp: { seconds: 1_700_000_000 + i, nanos: 0 } }))
  samples[badIndex] = { ...samples[badIndex]!, ...bad, ...(bad.latitude !== undefined ? { data: location(bad.latitude as number) } : {}) }
  return SampleCollectionType.encode(SampleCollectionType.fromObject({ samples })).finish()
}

describe('errors: a clear JSON answer, and nothing stored', () => {
  const cases: Array<[string, () => { body: Uint8Array | string; contentType: string; encoding?: string }, number, string, Record<string, unknown>?]> = [
    ['a truncated protobuf body', () => ({ body: fixture('collection.bin').subarray(0, 100), contentType: 'application/x-protobuf' }), 400, 'malformed_body', { sample: 1 }],
    ['a latitude outside [-90, 90]', () => ({ body: collectionWithBadSample(2, { latitude: 91 }), contentType: 'application/x-protobuf' }), 400, 'invalid_sample', { sample: 2, field: 'data.latitude', value: 91 }],
    ['a NaN latitude', () => ({ body: collectionWithBadSample(1, { latitude: Number.NaN }), contentType: 'application/x-protobuf' }), 400, 'invalid_sample', { sample: 1, field: 'data.latitude' }],
    ['a sample without timestamp', () => ({ body: collectionWithBadSample(3, { timestamp: null }), contentType: 'application/x-protobuf' }), 400, 'invalid_sample', { sample: 3, field: 'timestamp' }],
    ['a sample without data', () => ({ body: collectionWithBadSample(0, { data: null }), contentType: 'application/x-protobuf' }), 400, 'invalid_sample', { sample: 0, field: 'data' }],
    ['a timestamp outside the protobuf range', () => ({ body: collectionWithBadSample(1, { timestamp: { seconds: 253_402_300_800, nanos: 0 } }), contentType: 'application/x-protobuf' }), 400, 'invalid_sample', { sample: 1, field: 'timestamp.seconds' }],
    ['a bad NDJSON line', () => ({ body: `${fixture('samples.jsonl').toString()}{oops\n`, contentType: 'application/x-ndjson' }), 400, 'malformed_body', { line: 6, sample: 5 }],
    ['an unknown kind in JSON', () => ({ body: '{"id":"1","data":{"@type":"type.googleapis.com/HeartRate"},"timestamp":"2024-01-01T00:00:00Z"}', contentType: 'application/x-ndjson' }), 400, 'unsupported_kind', { sample: 0, field: 'data.@type' }],
    ['an unsupported Content-Type', () => ({ body: 'hello', contentType: 'text/plain' }), 415, 'unsupported_media_type'],
    ['an unsupported Content-Encoding', () => ({ body: fixture('collection.bin'), contentType: 'application/x-protobuf', encoding: 'br' }), 415, 'unsupported_content_encoding'],
    ['broken gzip', () => ({ body: Buffer.from('not gzip at all'), contentType: 'application/x-protobuf', encoding: 'gzip' }), 400, 'malformed_body'],
    ['a body over MAX_BODY_BYTES', () => ({ body: Buffer.alloc(MAX_BODY_BYTES + 1), contentType: 'application/x-protobuf' }), 413, 'payload_too_large', { limitBytes: MAX_BODY_BYTES }],
    // 64 MiB of zeros gzip to ~64 KiB: small on the wire, refused after gunzip.
    ['a gzip bomb', () => ({ body: zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)), contentType: 'application/x-protobuf', encoding: 'gzip' }), 413, 'payload_too_large'],
  ]

  it.each(cases)('%s', async (_, request, status, code, details) => {
    const device = await newDevice()
    const { body, contentType, encoding } = request()
    const answer = await upload(service.baseUrl, body, { contentType, encoding, token: device.token })
    expect(answer.status).toBe(status)
    expect(answer.headers.get('content-type')).toMatch(/application\/json/)
    expect(answer.body.error.code).toBe(code)
    expect(answer.body.error.message).toEqual(expect.any(String))
    if (details) expect(answer.body.error.details).toMatchObject(details)
    expect(await deviceRows(sql, device.id)).toEqual([])
  })

  // A body sent without Content-Length (chunked) is judged as its bytes arrive, not on a header.
  it.each([
    ['over MAX_BODY_BYTES is refused with 413, nothing stored', MAX_BODY_BYTES + 1, 413],
    ['within MAX_BODY_BYTES is read whole (and, being zeros, refused as malformed)', 64 * 1024, 400],
  ])('a chunked body %s', async (_, size, status) => {
    const device = await newDevice()
    const pieces = Array.from({ length: Math.ceil(size / 16_384) }, (__, i) => new Uint8Array(Math.min(16_384, size - i * 16_384)))
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const piece = pieces.shift()
        if (piece) controller.enqueue(piece)
        else controller.close()
      },
    })
    const answer = await fetch(`${service.baseUrl}/v1/samples`, {
      method: 'POST',
      headers: { authorization: `Bearer ${device.token}`, 'content-type': 'application/x-protobuf' },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(answer.status).toBe(status)
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe(status === 413 ? 'payload_too_large' : 'malformed_body')
    expect(await deviceRows(sql, device.id)).toEqual([])
  })

  it('the process survives all of it and still takes uploads', async () => {
    const device = await newDevice()
    expect((await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: device.token })).status).toBe(200)
  })
})

describe('authentication', () => {
  it.each([
    ['no token', undefined],
    ['a malformed token', 'nope'],
    ['an unknown token', `0123456789abcdef.${'A'.repeat(43)}`],
  ])('%s: 401 and nothing stored', async (_, token) => {
    const before = await countStoredSamples(sql)
    const answer = await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token })
    expect(answer.status).toBe(401)
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(answer.body.error.code).toBe('unauthorized')
    expect(await countStoredSamples(sql)).toBe(before)
  })

  it('a revoked token stops working once its cached lookup expires (AUTH_CACHE_TTL); its rows stay', async () => {
    const { device, token } = await addDevice(sql, 'to-be-revoked')
    expect((await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token })).status).toBe(200)
    await revokeDevice(sql, 'to-be-revoked')
    let answer = await upload(service.baseUrl, fixture('delimited.bin'), { contentType: 'application/octet-stream', token })
    while (answer.status === 200) answer = await upload(service.baseUrl, fixture('delimited.bin'), { contentType: 'application/octet-stream', token })
    expect(answer.status).toBe(401)
    expect(await deviceRows(sql, device.id)).toHaveLength(6)
  })

  it('the first start created device "local" with its token in DATA_DIR/local.token (mode 0600)', async () => {
    const file = localTokenPath(service.dataDir)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(service.output()).toContain('created device \\"local\\"')
    const answer = await upload(service.baseUrl, fixture('samples.jsonl'), { contentType: 'application/x-ndjson', token: fs.readFileSync(file, 'utf8').trim() })
    expect(answer.status).toBe(200)
    const owner = await sql.query("select d.name from location_samples s join devices d on d.id = s.device_id where d.name = 'local' limit 1")
    expect(owner.rows).toEqual([{ name: 'local' }])
  })

  it('only a hash of the token is stored', async () => {
    const { token } = await addDevice(sql, 'hash-check')
    const row = await sql.query("select token_selector, encode(token_hash, 'hex') as hash from devices where name = 'hash-check'")
    const secret = token.split('.')[1]!
    expect(JSON.stringify(row.rows)).not.toContain(secret)
    expect(row.rows[0].token_selector).toBe(token.split('.')[0])
  })
})

describe('health and schema', () => {
  it('GET /healthz and /readyz answer 200', async () => {
    expect(await (await fetch(`${service.baseUrl}/healthz`)).json()).toEqual({ status: 'ok' })
    expect(await (await fetch(`${service.baseUrl}/readyz`)).json()).toEqual({ status: 'ready' })
  })

  it('unknown routes get a JSON 404', async () => {
    const response = await fetch(`${service.baseUrl}/nope`)
    expect(response.status).toBe(404)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })

  it('the four sample hypertables exist', async () => {
    const result = await sql.query('select hypertable_name from timescaledb_information.hypertables order by 1')
    expect(result.rows.map((row) => row.hypertable_name)).toEqual(expect.arrayContaining(['acceleration_samples', 'activity_samples', 'location_samples', 'other_samples']))
  })
})

describe('outside SQL sessions and ingestion share the embedded database', () => {
  it('psql left open in a session does not stall uploads', async () => {
    const psql = spawn('psql', [service.databaseUrl, '-X', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let psqlOutput = ''
    psql.stdout.on('data', (chunk: Buffer) => (psqlOutput += chunk.toString()))
    psql.stdin.write('select count(*) as hypertables from timescaledb_information.hypertables;\n')
    await expect.poll(() => psqlOutput, { timeout: 10_000 }).toMatch(/hypertables/)
    try {
      const device = await newDevice()
      const started = Date.now()
      for (let i = 0; i < 20; i++) {
        const answer = await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: device.token })
        expect(answer.status).toBe(200)
      }
      // An idle session holds nothing: far below the idle-in-transaction timeout per upload.
      expect((Date.now() - started) / 20).toBeLessThan(IDLE_IN_TRANSACTION_MS)
    } finally {
      psql.stdin.end('\\q\n')
    }
  })

  it('an outside client querying in a loop and uploads both make progress', async () => {
    const device = await newDevice()
    const reader = await sqlClient(service.databaseUrl)
    const until = Date.now() + 3000
    let queries = 0
    let uploads = 0
    const readLoop = (async () => {
      while (Date.now() < until) {
        await reader.query('select count(*) from location_samples')
        queries++
      }
    })()
    const uploadLoop = (async () => {
      for (let id = 0; Date.now() < until; id++) {
        const line = `{"id":"${id}","data":{"@type":"type.googleapis.com/Location","latitude":1,"longitude":2},"timestamp":"2024-03-01T08:00:00Z"}`
        const answer = await upload(service.baseUrl, line, { contentType: 'application/x-ndjson', token: device.token })
        expect(answer.status).toBe(200)
        uploads++
      }
    })()
    await Promise.all([readLoop, uploadLoop])
    await reader.end()
    expect(queries).toBeGreaterThan(20)
    expect(uploads).toBeGreaterThan(20)
    // Fair turns. An upload takes about five turns (token lookup, begin, savepoint, insert,
    // commit) to a query's one, so fair scheduling gives about one upload per four or five
    // queries (measured 0.24); without fairness it was one query per 200 transactions.
    expect(Math.min(queries, uploads) / Math.max(queries, uploads)).toBeGreaterThan(0.1)
  })

  it('a transaction left open holds uploads back only until the idle-in-transaction timeout', async () => {
    const forgetful = await sqlClient(service.databaseUrl)
    await forgetful.query('begin')
    await forgetful.query('select count(*) from location_samples')
    const device = await newDevice().catch((error: unknown) => error)
    // (newDevice itself waited for the open transaction to be ended)
    expect(device).toHaveProperty('token')
    const started = Date.now()
    const answer = await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: (device as { token: string }).token })
    expect(answer.status).toBe(200)
    expect(Date.now() - started).toBeLessThan(IDLE_IN_TRANSACTION_MS + 2000)
    await expect(forgetful.query('select 1')).rejects.toThrow()
    await forgetful.end().catch(() => undefined)
  })
})
