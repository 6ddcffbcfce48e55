// Fuzzing the HTTP endpoint of the real service: thousands of malformed bodies and headers,
// garbage on the socket, oversized headers, gzip bombs and slowloris-style slow requests.
// Afterwards the process is up, its memory is where it was, and the tables hold exactly the
// samples of the uploads that were answered 200.
import fs from 'node:fs'
import net from 'node:net'
import zlib from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sqlClient } from './support/http.ts'
import { startService, type RunningService } from './support/service.ts'
import { WIRE_BODIES } from './support/fixtures.ts'
import { countStoredSamples } from '../src/db/stored-samples.ts'

const VALID = WIRE_BODIES
const MAX_BODY_BYTES = 1024 * 1024
const HEADERS_TIMEOUT_MS = 1000
const REQUEST_TIMEOUT_MS = 2000

let service: RunningService
let port: number
beforeAll(async () => {
  service = await startService({
    env: {
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`,
      REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
      // Every fuzzed request reaches the checks behind authentication, instead of most being
      // held and refused for their address's failed authentications (test/upload-port.test.ts).
      AUTH_FAILURE_BURST: '1000000',
    },
  })
  port = Number(new URL(service.baseUrl).port)
})
afterAll(async () => {
  expect(await service?.stop()).toBe(0)
})

function rssMib(): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${service.process.pid}/status`, 'utf8'))![1]) / 1024
}

/** Writes raw bytes on a new connection; resolves with what came back and when the server closed it. */
function rawExchange(chunks: Array<Buffer | string>, { gapMs = 0, giveUpMs = 15_000 } = {}): Promise<{ response: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = performance.now()
    let response = ''
    const socket = net.connect(port, '127.0.0.1')
    const finish = (): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ response, closedAfterMs: performance.now() - started })
    }
    const timer = setTimeout(finish, giveUpMs)
    socket.on('data', (data) => (response += data.toString('latin1')))
    socket.on('close', finish)
    socket.on('error', () => undefined)
    void (async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return
        socket.write(chunk)
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs))
      }
    })()
  })
}

const body = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.constantFrom(...Object.values(VALID)),
  fc.tuple(fc.constantFrom(...Object.values(VALID)), fc.nat()).map(([valid, cut]) => valid.subarray(0, cut % (valid.length + 1))),
  fc.tuple(fc.constantFrom(...Object.values(VALID)), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([valid, at, byte]) => {
    const copy = Buffer.from(valid)
    copy[at % copy.length] = byte
    return copy
  }),
  fc.string({ maxLength: 500 }).map((text) => Buffer.from(text)),
  fc.json().map((text) => Buffer.from(text)),
)
const request = fc.record({
  method: fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH') }),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('/v1/samples', '/samples', '/v1/samples?x=%00&y=%ff') },
    { weight: 1, arbitrary: fc.constantFrom('/v1/samples/', '/readyz', '/nope', '/v1/../samples', '/%ff', `/${'a'.repeat(5000)}`) },
  ),
  contentType: fc.option(
    fc.constantFrom('application/x-protobuf', 'application/protobuf', 'application/x-protobuf; delimited=true', 'application/octet-stream', 'application/json', 'application/x-ndjson', 'text/plain', 'application/json; charset=latin1', ';;;', 'application/x-protobuf; delimited=maybe', 'a'.repeat(3000)),
  ),
  encoding: fc.option(fc.constantFrom('gzip', 'x-gzip', 'identity', 'br', 'deflate', 'gzip, gzip', '')),
  gzipBody: fc.boolean(),
  auth: fc.oneof({ weight: 12, arbitrary: fc.constant('valid') }, { weight: 5, arbitrary: fc.constantFrom('none', 'garbage', 'basic', 'huge', 'almost') }),
  body,
})

it('thousands of malformed requests, socket garbage, huge headers, gzip bombs and slow requests: up, flat memory, only accepted rows', async () => {
  const token = service.token
  const authHeader = (kind: string): string | undefined =>
    ({ valid: `Bearer ${token}`, none: undefined, garbage: 'Bearer \u0001\u0002', basic: 'Basic dXNlcjpwYXNz', huge: `Bearer ${'x'.repeat(8000)}`, almost: `Bearer ${token.slice(0, -1)}A` })[kind]

  // Warm up (JIT, pools, PGlite caches) before taking the memory baseline.
  for (let i = 0; i < 50; i++) await fetch(`${service.baseUrl}/v1/samples`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body: VALID.ndjson })
  const rssBefore = rssMib()

  const requests = fc.sample(request, { numRuns: 3000, seed: 42 })
  const statuses = new Map<number | string, number>()
  let acceptedSamples = 0
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < requests.length) {
        const r = requests[next++]!
        const headers: Record<string, string> = {}
        if (r.contentType !== null) headers['content-type'] = r.contentType
        if (r.encoding !== null) headers['content-encoding'] = r.encoding
        const auth = authHeader(r.auth)
        if (auth) headers.authorization = auth
        const payload = r.gzipBody ? zlib.gzipSync(r.body) : r.body
        let status: number | string
        try {
          const response = await fetch(`${service.baseUrl}${r.path}`, { method: r.method, headers, body: r.method === 'GET' ? undefined : payload })
          status = response.status
          const text = await response.text()
          if (status === 200 && r.method === 'POST') acceptedSamples += (JSON.parse(text) as { accepted: number }).accepted
        } catch (error) {
          // fetch itself refuses some headers (control characters): nothing was sent.
          const code = (error as { cause?: { code?: string } }).cause?.code
          status = code === 'UND_ERR_INVALID_ARG' || (error instanceof TypeError && !(error as { cause?: unknown }).cause) ? 'not sent' : `failed: ${code ?? String(error)}`
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }
    }),
  )
  console.log('fuzzed requests by status:', Object.fromEntries(statuses))
  for (const status of statuses.keys()) {
    expect(typeof status === 'number' ? status < 500 || status === 503 : status === 'not sent', `status ${status}`).toBe(true)
  }

  // Garbage on the socket, and headers past MAX_HEADER_BYTES (16 KiB).
  const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { numRuns: 200, seed: 7 })
  for (const bytes of garbage) {
    const { response } = await rawExchange([Buffer.from(bytes), '\r\n\r\n'], { giveUpMs: 5000 })
    expect(response === '' || /^HTTP\/1\.1 (400|408|413|414|431|505)/.test(response), response.slice(0, 80)).toBe(true)
  }
  const hugeHeaders = await rawExchange([`POST /v1/samples HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`])
  expect(hugeHeaders.response).toMatch(/^HTTP\/1\.1 431/)

  // Gzip bombs: 100 MiB of zeros in ~100 KiB, and the same inside a valid-looking stream.
  const bomb = zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024))
  for (const contentType of ['application/x-ndjson', 'application/x-protobuf']) {
    const answer = await fetch(`${service.baseUrl}/v1/samples`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-encoding': 'gzip' }, body: bomb })
    expect(answer.status).toBe(413)
  }

  // Slowloris: headers a byte at a time, and a body that trickles. Both are cut off by the
  // server's timeouts (plus its 1 s check interval), not kept open for ever.
  const head = `POST /v1/samples HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n`
  const slow = await Promise.all([
    ...Array.from({ length: 10 }, () => rawExchange(head.split(''), { gapMs: 200 })),
    ...Array.from({ length: 10 }, () => rawExchange([head, ...'{"id":"1","data":'.split('')], { gapMs: 300 })),
  ])
  for (const { closedAfterMs, response } of slow) {
    expect(closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 3000)
    expect(response === '' || /^HTTP\/1\.1 408/.test(response), response.slice(0, 80)).toBe(true)
  }

  // Still up and ready, memory where it was, and only what was accepted is stored.
  expect(service.process.exitCode).toBeNull()
  expect((await fetch(`${service.baseUrl}/readyz`)).status).toBe(200)
  const rssAfter = rssMib()
  console.log(`RSS before fuzzing ${rssBefore.toFixed(0)} MiB, after ${rssAfter.toFixed(0)} MiB`)
  expect(rssAfter - rssBefore).toBeLessThan(150)
  const sql = await sqlClient(service.databaseUrl)
  // The warm-up stored the 5 NDJSON samples once (the other 49 were duplicates).
  expect(await countStoredSamples(sql)).toBe(5 + acceptedSamples)
  await sql.end()
  expect(service.output()).not.toContain('internal_error')
})
