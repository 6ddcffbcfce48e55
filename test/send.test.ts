// The upload client (`npm run send`) against the real service on the embedded TimescaleDB:
// what a user sees is the summary, the exit code, the messages, and the rows in the tables.
import { once } from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendFiles } from '../src/client/send-files.ts'
import { backoffMs, DEFAULT_RETRY_POLICY, retryAfterMs } from '../src/client/retry.ts'
import type { SendSummary } from '../src/client/summary.ts'
import { bodyFormatFor, decodeSamples } from '../src/codec/index.ts'
import { runToExit, spawnTs, startService, temporaryDir, type RunningService } from './support/service.ts'

let service: RunningService
let db: pg.Client
let workDir: string

beforeAll(async () => {
  service = await startService()
  db = new pg.Client(service.databaseUrl)
  await db.connect()
  workDir = temporaryDir('telemetry-send-')
})

afterAll(async () => {
  await db?.end()
  await service?.stop()
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true })
})

const KINDS = ['location', 'activity', 'acceleration'] as const

/** The JSON line of sample `id`: kinds take turns, times 20 ms apart (50 Hz). */
function sampleLine(id: bigint): string {
  const time = new Date(Date.UTC(2024, 2, 1) + Number(id % 1_000_000_000n) * 20).toISOString()
  const data = [
    `{"@type":"type.googleapis.com/Location","latitude":48.85,"longitude":2.35}`,
    `{"@type":"type.googleapis.com/Activity","walking":true}`,
    `{"@type":"type.googleapis.com/Acceleration","x":0.01,"y":-0.02,"z":0.98}`,
  ][Number(id % 3n)]
  return `{"id":"${id}","data":${data},"timestamp":"${time}"}`
}

/** Writes lines for ids first..first+count-1; `replace` swaps given 1-based lines for others. */
function writeSamples(name: string, first: bigint, count: number, replace: Record<number, string> = {}): string {
  const lines: string[] = []
  for (let line = 1; line <= count; line++) lines.push(replace[line] ?? sampleLine(first + BigInt(line - 1)))
  const file = path.join(workDir, name)
  fs.writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

/** Rows per kind whose sample_id lies in [first, last]. */
async function rowsBetween(first: bigint, last: bigint): Promise<Record<(typeof KINDS)[number], number>> {
  const rows = {} as Record<(typeof KINDS)[number], number>
  for (const kind of KINDS) {
    const result = await db.query<{ n: number }>(`select count(*)::int as n from ${kind}_samples where sample_id between $1 and $2`, [first.toString(), last.toString()])
    rows[kind] = result.rows[0]!.n
  }
  return rows
}

interface CliRun {
  code: number | null
  stderr: string
  summary: SendSummary | undefined
}

/** Runs `npm run send` as a user would (a child process) with `--json`. */
async function runSend(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const child = spawnTs('src/cli/send.ts', ['--json', ...args], { TELEMETRY_TOKEN: service.token, ...env })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stderr, summary: stdout.trim() ? (JSON.parse(stdout) as SendSummary) : undefined }
}

/** A real HTTP server on 127.0.0.1; `port` 0 picks a free one. */
async function listen(handler: http.RequestListener, port = 0): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = http.createServer(handler)
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const bound = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

async function readBody(request: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Passes one request on to the real service and returns its answer (status, headers, text). */
async function forward(request: http.IncomingMessage, body: Buffer): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {}
  for (const name of ['authorization', 'content-type', 'content-encoding']) {
    const value = request.headers[name]
    if (typeof value === 'string') headers[name] = value
  }
  const response = await fetch(`${service.baseUrl}${request.url}`, { method: 'POST', headers, body })
  return { status: response.status, text: await response.text() }
}

describe('send against the real service', () => {
  it('stores every line, and the summary counts match the rows (CLI, token from TELEMETRY_TOKEN)', async () => {
    const first = 1_000_000n
    const file = writeSamples('all.jsonl', first, 3000)
    const run = await runSend(['--url', service.baseUrl, '--batch', '400', '--concurrency', '3', file])
    expect(run.stderr).not.toContain('refused')
    expect(run.code).toBe(0)
    expect(run.summary).toMatchObject({ files: 1, linesRead: 3000, samplesRead: 3000, accepted: 3000, duplicates: 0, rejected: 0, unsent: 0, retries: 0, complete: true })
    expect(run.summary!.batches).toBe(8)
    expect(await rowsBetween(first, first + 2999n)).toEqual({ location: 1000, activity: 1000, acceleration: 1000 })

    // Sent again: nothing new is stored, everything is counted as a duplicate.
    const again = await runSend(['--url', service.baseUrl, file])
    expect(again.code).toBe(0)
    expect(again.summary).toMatchObject({ accepted: 0, duplicates: 3000 })
    expect(await rowsBetween(first, first + 2999n)).toEqual({ location: 1000, activity: 1000, acceleration: 1000 })
  })

  it('finds the local token in DATA_DIR when none is given and the service is on localhost', async () => {
    const first = 1_100_000n
    const file = writeSamples('local-token.jsonl', first, 30)
    const localUrl = service.baseUrl.replace('127.0.0.1', 'localhost')
    const run = await runSend(['--url', localUrl, file], { TELEMETRY_TOKEN: '', DATA_DIR: service.dataDir })
    expect(run.code).toBe(0)
    expect(run.summary).toMatchObject({ accepted: 30 })

    const elsewhere = await runSend(['--url', localUrl, file], { TELEMETRY_TOKEN: '', DATA_DIR: workDir })
    expect(elsewhere.code).toBe(2)
    expect(elsewhere.stderr).toContain('no token')
  })

  it.each([
    { format: 'collection', gzip: false },
    { format: 'delimited', gzip: false },
    { format: 'ndjson', gzip: false },
    { format: 'collection', gzip: true },
    { format: 'ndjson', gzip: true },
  ] as const)('sends the $format format (gzip: $gzip)', async ({ format, gzip }) => {
    const first = 2_000_000n + BigInt(['collection', 'delimited', 'ndjson'].indexOf(format)) * 10_000n + (gzip ? 5_000n : 0n)
    const file = writeSamples(`${format}-${gzip}.jsonl`, first, 900)
    const summary = await sendFiles({ files: [file], url: service.baseUrl, token: service.token, format, gzip, batchSize: 250 })
    expect(summary).toMatchObject({ accepted: 900, duplicates: 0, rejected: 0, complete: true })
    expect(await rowsBetween(first, first + 899n)).toEqual({ location: 300, activity: 300, acceleration: 300 })
  })

  it('keeps int64 ids above 2^53 exact from the file to the table', async () => {
    const ids = ['9007199254740993', '9223372036854775807', '-9223372036854775808', '12345678901234567']
    const lines = ids.map((id, index) => `{"id":"${id}","data":{"@type":"type.googleapis.com/Location","latitude":1,"longitude":2},"timestamp":"2031-01-01T00:00:0${index}.123456789Z"}`)
    const file = path.join(workDir, 'big-ids.jsonl')
    fs.writeFileSync(file, `${lines.join('\n')}\n`)
    const summary = await sendFiles({ files: [file], url: service.baseUrl, token: service.token })
    expect(summary).toMatchObject({ accepted: 4, complete: true })
    const stored = await db.query<{ id: string }>(`select sample_id::text as id from location_samples where time >= '2031-01-01' and time < '2031-01-02' order by time`)
    expect(stored.rows.map((row) => row.id)).toEqual(ids)
  })

  it('reports bad lines with file:line and stops before the batch holding the first one', async () => {
    const first = 3_000_000n
    const file = writeSamples('bad.jsonl', first, 1500, {
      1201: '{"id":"1","data":{"@type":"type.googleapis.com/Location","latitude":1,"longitude":2,"altitude":3},"timestamp":"2024-03-01T00:00:00Z"}',
      1300: 'this is not json',
      1400: '{"id":"2","data":{"@type":"type.googleapis.com/Activity"},"timestamp":"2024-02-30T00:00:00Z"}',
      1450: '{"id":"3","data":{"@type":"type.googleapis.com/Heartbeat","bpm":60},"timestamp":"2024-03-01T00:00:00Z"}',
    })
    const run = await runSend(['--url', service.baseUrl, '--batch', '500', file])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${file}:1201: data.altitude is not a field of Location`)
    expect(run.stderr).not.toContain(`${file}:1300`) // the run stopped at the first bad line
    // Batches 1 and 2 (lines 1-1000) were sent before the bad line was read; the third is not.
    expect(run.summary).toMatchObject({ invalidLines: 1, accepted: 1000, unsent: 200, complete: false })
    expect(run.summary!.stopReason).toContain(`${file}:1201`)
    const before = await rowsBetween(first, first + 1499n)
    expect(before.location + before.activity + before.acceleration).toBe(1000)

    const skipping = await runSend(['--url', service.baseUrl, '--batch', '500', '--skip-invalid', file])
    expect(skipping.code).toBe(3)
    expect(skipping.stderr).toContain(`${file}:1201: data.altitude is not a field of Location`)
    expect(skipping.stderr).toContain(`${file}:1300: not valid JSON`)
    expect(skipping.stderr).toContain(`${file}:1400: timestamp is not an RFC 3339 timestamp`)
    expect(skipping.stderr).toContain(`${file}:1450: kind "Heartbeat" is unknown`)
    expect(skipping.summary).toMatchObject({ linesRead: 1500, invalidLines: 4, accepted: 496, duplicates: 1000, unsent: 0, complete: true })
    const after = await rowsBetween(first, first + 1499n)
    expect(after.location + after.activity + after.acceleration).toBe(1496)
  })

  it('stops at a refused token without retrying it', async () => {
    const file = writeSamples('refused.jsonl', 4_000_000n, 1000)
    const run = await runSend(['--url', service.baseUrl, '--batch', '100', '--concurrency', '1', file], { TELEMETRY_TOKEN: 'not-a-token' })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('HTTP 401')
    expect(run.summary).toMatchObject({ retries: 0, accepted: 0, rejected: 100, complete: false })
    expect(run.summary!.stopReason).toContain('refused the token')
  })
})

describe('retries', () => {
  it('retries 503 (honouring Retry-After) and stores the batch once, even when the first attempt was stored', async () => {
    const first = 5_000_000n
    const file = writeSamples('retry.jsonl', first, 600)
    const attempts: number[] = []
    const proxy = await listen(async (request, response) => {
      const body = await readBody(request)
      attempts.push(Date.now())
      if (attempts.length === 1) {
        // Stored by the service, but the answer is lost on the way back (a gateway timeout).
        await forward(request, body)
        response.writeHead(503, { 'retry-after': '0' }).end()
      } else if (attempts.length === 2) {
        response.writeHead(503, { 'retry-after': '1' }).end()
      } else {
        const answer = await forward(request, body)
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.text)
      }
    })
    try {
      const summary = await sendFiles({ files: [file], url: proxy.url, token: service.token, batchSize: 1000 })
      expect(attempts).toHaveLength(3)
      expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(1000) // Retry-After: 1
      expect(summary).toMatchObject({ retries: 2, accepted: 0, duplicates: 600, rejected: 0, unsent: 0, complete: true })
      expect(await rowsBetween(first, first + 599n)).toEqual({ location: 200, activity: 200, acceleration: 200 })
    } finally {
      await proxy.close()
    }
  })

  it('waits for a server that is down at first and comes up later on the same port', async () => {
    const first = 6_000_000n
    const file = writeSamples('late.jsonl', first, 2000)
    // A free port, released again: nothing listens there when the client starts.
    const probe = await listen(() => {})
    const port = probe.port
    await probe.close()

    const sending = sendFiles({ files: [file], url: `http://127.0.0.1:${port}`, token: service.token, batchSize: 500 })
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const late = await listen(async (request, response) => {
      const answer = await forward(request, await readBody(request))
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.text)
    }, port)
    try {
      const summary = await sending
      expect(summary.retries).toBeGreaterThan(0)
      expect(summary).toMatchObject({ accepted: 2000, unsent: 0, complete: true })
      expect(await rowsBetween(first, first + 1999n)).toEqual({ location: 667, activity: 667, acceleration: 666 })
    } finally {
      await late.close()
    }
  })

  it('with its defaults, gives up after 10 retries, or at once when the wait would pass the 5-minute cap', async () => {
    const file = writeSamples('unavailable.jsonl', 7_000_000n, 10)
    let attempts = 0
    let retryAfter = '0'
    const unavailable = await listen(async (request, response) => {
      await readBody(request)
      attempts++
      response.writeHead(503, { 'retry-after': retryAfter }).end()
    })
    try {
      // No retry options: the documented defaults must apply (an omitted option once meant "retry forever").
      const run = await runSend(['--url', unavailable.url, file])
      expect(run.code).toBe(1)
      expect(attempts).toBe(1 + DEFAULT_RETRY_POLICY.maxRetries)
      expect(run.summary).toMatchObject({ retries: 10, accepted: 0, unsent: 10, complete: false })
      expect(run.summary!.stopReason).toContain('gave up after 10 retries: HTTP 503')

      attempts = 0
      retryAfter = String(DEFAULT_RETRY_POLICY.maxTotalWaitMs / 1000 + 1)
      const capped = await runSend(['--url', unavailable.url, file])
      expect(capped.code).toBe(1)
      expect(attempts).toBe(1)
      expect(capped.summary!.stopReason).toContain('next wait would pass the cap')
    } finally {
      await unavailable.close()
    }
  })

  it('prints the plain summary on stdout, progress and messages on stderr', async () => {
    const file = writeSamples('plain-summary.jsonl', 7_100_000n, 20)
    const run = await runToExit(spawnTs('src/cli/send.ts', ['--url', service.baseUrl, file], { TELEMETRY_TOKEN: service.token }))
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^samples accepted\s+20$/m)
    expect(run.stderr).not.toContain('samples accepted')
  })

  it('backs off exponentially with jitter, and honours Retry-After', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 }
    expect(backoffMs(policy, 0, undefined, () => 0)).toBe(50)
    expect(backoffMs(policy, 0, undefined, () => 1)).toBe(100)
    expect(backoffMs(policy, 3, undefined, () => 1)).toBe(800)
    expect(backoffMs(policy, 10, undefined, () => 1)).toBe(1000) // capped
    expect(backoffMs(policy, 0, 2000, () => 0)).toBe(2000)
    expect(retryAfterMs('3')).toBe(3000)
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000)
    expect(retryAfterMs('soon')).toBeUndefined()
    expect(retryAfterMs(null)).toBeUndefined()
  })
})

describe('streaming', () => {
  it('sends a file larger than its memory budget with a bounded peak RSS', async () => {
    // About 320 MB of acceleration lines, written in chunks (the test must not hold it either).
    const file = path.join(workDir, 'large.jsonl')
    const lineCount = 2_200_000
    const out = fs.createWriteStream(file)
    const start = Date.UTC(2024, 5, 1)
    for (let chunkStart = 0; chunkStart < lineCount; chunkStart += 20_000) {
      let text = ''
      for (let i = chunkStart; i < chunkStart + 20_000; i++) {
        text += `{"id":"${i}","data":{"@type":"type.googleapis.com/Acceleration","x":${Math.sin(i).toFixed(6)},"y":${Math.cos(i).toFixed(6)},"z":0.981234},"timestamp":"${new Date(start + i * 20).toISOString()}"}\n`
      }
      if (!out.write(text)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
    const fileBytes = fs.statSync(file).size

    // A server that decodes each body with the service's codec and counts, without storing:
    // the embedded database would take minutes for 2 million rows, and the client's memory
    // is what is measured here.
    let samplesDecoded = 0
    const counter = await listen(async (request, response) => {
      let body: Uint8Array = await readBody(request)
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const count = decodeSamples(bodyFormatFor(request.headers['content-type'])!, body).count
      samplesDecoded += count
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: count, duplicates: 0 }))
    })
    try {
      const run = await runSend(['--url', counter.url, '--quiet', file], { TELEMETRY_TOKEN: 'any' })
      expect(run.code).toBe(0)
      expect(samplesDecoded).toBe(lineCount)
      expect(run.summary).toMatchObject({ linesRead: lineCount, accepted: lineCount, bytesRead: fileBytes, complete: true })
      const peakMb = run.summary!.peakRssBytes / 2 ** 20
      console.info(`send: ${(fileBytes / 2 ** 20).toFixed(0)} MB file, ${lineCount} lines in ${run.summary!.elapsedMs} ms, client peak RSS ${peakMb.toFixed(0)} MB`)
      expect(fileBytes / 2 ** 20).toBeGreaterThan(300)
      expect(peakMb).toBeLessThan(256)
    } finally {
      await counter.close()
      fs.rmSync(file)
    }
  })
})
