// The upload port as a hostile or careless client meets it: bodies asked for only after the
// token and the size are checked, guessed tokens cut off per address before any query,
// unauthenticated traffic kept out of the upload slots, revocation within the cache's bound,
// and the small answers (405, a hint for JSON lines sent as JSON, exact ids in errors).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from './support/fixtures.ts'
import { pendingUpload, upload } from './support/http.ts'
import { runToExit, spawnTs, startService, type RunningService } from './support/service.ts'

const AUTH_CACHE_TTL_MS = 1000
let service: RunningService
let port: number

beforeAll(async () => {
  service = await startService({ env: { AUTH_CACHE_TTL: `${AUTH_CACHE_TTL_MS}ms`, MAX_UPLOADS_IN_FLIGHT: '1', MAX_BODY_BYTES: '65536' } })
  port = Number(new URL(service.baseUrl).port)
})
afterAll(async () => {
  await service?.stop()
})

const BAD_TOKEN = `${'0'.repeat(16)}.${'A'.repeat(43)}`
const collection = fixture('collection.bin')

describe('small answers', () => {
  it('GET /v1/samples is 405 with Allow: POST', async () => {
    const response = await fetch(`${service.baseUrl}/v1/samples`)
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('POST')
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed')
  })

  it('JSON lines posted as application/json get a hint to use application/x-ndjson', async () => {
    const answer = await upload(service.baseUrl, fixture('samples.jsonl'), { contentType: 'application/json', token: service.token })
    expect(answer.status).toBe(400)
    expect(answer.body.error.message).toContain('send it as Content-Type: application/x-ndjson')
  })

  it('a numeric JSON id beyond 2^53 is refused, and the error echoes the digits sent', async () => {
    const line = '{"id":9007199254740993,"data":{"@type":"type.googleapis.com/Activity","walking":true},"timestamp":"2024-03-01T08:00:00Z"}'
    for (const [body, contentType] of [
      [line, 'application/x-ndjson'],
      [`{"samples":[${line}]}`, 'application/json'],
    ] as const) {
      const answer = await upload(service.baseUrl, body, { contentType, token: service.token })
      expect(answer.status).toBe(400)
      expect(answer.body.error.details).toMatchObject({ field: 'id', value: '9007199254740993' })
    }
  })
})

describe('Expect: 100-continue', () => {
  it('a bad token is answered 401 without asking for the body', async () => {
    const pending = pendingUpload(port, BAD_TOKEN, collection)
    const answer = await pending.answer
    expect(answer.status).toBe(401)
    expect(pending.continued()).toBe(false)
  })

  it('a declared size over MAX_BODY_BYTES is answered 413 without asking for the body', async () => {
    const pending = pendingUpload(port, service.token, Buffer.alloc(65537))
    const answer = await pending.answer
    expect(answer.status).toBe(413)
    expect(pending.continued()).toBe(false)
  })

  it('a good token and size get 100 Continue, then the upload is stored', async () => {
    const pending = pendingUpload(port, service.token, collection)
    await pending.inRoute
    pending.sendBody()
    expect((await pending.answer).status).toBe(200)
  })
})

describe('admission', () => {
  it('unauthenticated requests never take an upload slot: with the only slot taken, a bad token is 401 and a real upload 503', async () => {
    const holder = pendingUpload(port, service.token, collection)
    await holder.inRoute // the one slot (MAX_UPLOADS_IN_FLIGHT=1) is taken
    const guessed = await upload(service.baseUrl, collection, { contentType: 'application/x-protobuf', token: BAD_TOKEN })
    expect(guessed.status).toBe(401)
    const real = await upload(service.baseUrl, collection, { contentType: 'application/x-protobuf', token: service.token })
    expect(real.status).toBe(503)
    expect(real.body.error.code).toBe('overloaded')
    holder.sendBody()
    expect((await holder.answer).status).toBe(200)
  })
})

describe('devices and the lookup cache', () => {
  it(`a revoked token is refused within AUTH_CACHE_TTL (${AUTH_CACHE_TTL_MS} ms here)`, async () => {
    const added = await runToExit(spawnTs('src/cli/devices.ts', ['add', 'soon-revoked'], { DATA_DIR: service.dataDir }))
    const token = added.stdout.trim().split('\n').at(-1)!
    expect((await upload(service.baseUrl, collection, { contentType: 'application/x-protobuf', token })).status).toBe(200)
    expect((await runToExit(spawnTs('src/cli/devices.ts', ['revoke', 'soon-revoked'], { DATA_DIR: service.dataDir }))).code).toBe(0)
    const revokedAt = performance.now()
    let status = 200
    while (status === 200) status = (await upload(service.baseUrl, collection, { contentType: 'application/x-protobuf', token })).status
    expect(status).toBe(401)
    // The bound, plus the time of the upload that was in flight when the cache expired (a loaded CI machine).
    expect(performance.now() - revokedAt).toBeLessThan(AUTH_CACHE_TTL_MS + 2000)
  })
})

describe('failed authentications per client address', () => {
  it('after the burst of failures: 429 at once for guessed tokens, while a real device keeps uploading', async () => {
    const statuses: number[] = []
    let limited: Awaited<ReturnType<typeof upload>> | undefined
    for (let attempt = 0; attempt < 40 && limited === undefined; attempt++) {
      const guess = `${attempt.toString(16).padStart(16, 'f')}.${'B'.repeat(43)}`
      const answer = await upload(service.baseUrl, collection, { contentType: 'application/x-protobuf', token: guess })
      statuses.push(answer.status)
      if (answer.status === 429) limited = answer
    }
    // What is left of the burst (AUTH_FAILURE_BURST, 20; earlier tests used some) in 401s, then 429 without a lookup.
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set([401]))
    expect(statuses.length).toBeLessThanOrEqual(21)
    expect(limited!.body.error.code).toBe('too_many_auth_failures')
    expect(limited!.headers.get('retry-after')).toMatch(/^\d+$/)

    const real = await upload(service.baseUrl, collection, { contentType: 'application/x-protobuf', token: service.token })
    expect(real.status).toBe(200)
  })
})
