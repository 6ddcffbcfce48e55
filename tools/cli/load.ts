// npm run load -- [--duration 120] [--connections 8] [--batch 500] [--devices 8] [--amount N]
//
// Sustained uploads against the embedded default, on loopback only: starts the service
// (src/main.ts) with a temporary DATA_DIR, creates devices, and drives POST /v1/samples with
// autocannon for a bounded time and request count. Every request is a fresh protobuf
// SampleCollection of 50 Hz acceleration samples with new ids, so each one is real insert work.
// Reports throughput, p50/p99 latency, answers by status, errors, and the service's RSS
// sampled over the run; exits 1 on any answer other than 200 or the intended 429/503, or when
// RSS keeps growing through the second half of the run.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import Long from 'long'
import pg from 'pg'
import { CONTENT_TYPES } from '../../src/codec/index.ts'
import { AccelerationType, SampleCollectionType, TYPE_URL_PREFIX } from '../../src/codec/proto.ts'
import { addDevice } from '../../src/db/devices.ts'
import { processMemoryBytes, startEntry } from '../../test/support/project-process.ts'
import { parseOrExit, parseToolArgs, wholeNumberFlag } from '../../src/cli/usage.ts'

const USAGE = 'usage: npm run load -- [--duration 120] [--connections 8] [--batch 500] [--devices 8] [--amount N]\n(see docs/performance.md)'
const { values: args } = parseOrExit('load', USAGE, () =>
  parseToolArgs({
    options: {
      duration: { type: 'string', default: '120' },
      connections: { type: 'string', default: '8' },
      batch: { type: 'string', default: '500' },
      devices: { type: 'string', default: '8' },
      amount: { type: 'string', default: '1000000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }),
)
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}
const { durationSeconds, connections, batchSize, deviceCount, maxRequests } = parseOrExit('load', USAGE, () => ({
  durationSeconds: bounded('duration', 5, 1800),
  connections: bounded('connections', 1, 256),
  batchSize: bounded('batch', 1, 100_000),
  deviceCount: bounded('devices', 1, 1000),
  maxRequests: bounded('amount', 1, 10_000_000),
}))
const INTENDED = new Set([200, 429, 503])

function bounded(name: keyof typeof args, min: number, max: number): number {
  return wholeNumberFlag(`--${name}`, String(args[name]), { min, max })
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-load-'))
const service = await startEntry({
  entry: 'src/main.ts',
  env: { HOST: '127.0.0.1', PORT: '0', EMBEDDED_PG_PORT: '0', METRICS_PORT: '0', DATA_DIR: dataDir, DATABASE_URL: '' },
  readyMessage: 'ready',
})
// Whatever happens to this script, the service it started goes with it.
process.once('exit', () => service.child.kill('SIGKILL'))
const ready = service.ready as { http: string; database: string }
const baseUrl = ready.http

const sql = new pg.Client(ready.database)
await sql.connect()
const tokens: string[] = []
for (let i = 0; i < deviceCount; i++) tokens.push((await addDevice(sql, `load-${i}`)).token)
await sql.end()

// One body per request, each with ids and times no other request used.
const START_MS = Date.UTC(2024, 0, 1)
let nextId = 0
function nextBody(): Buffer {
  const samples = []
  for (let i = 0; i < batchSize; i++) {
    const id = nextId++
    const ms = START_MS + id * 20
    samples.push({
      id: Long.fromNumber(id),
      data: { type_url: `${TYPE_URL_PREFIX}Acceleration`, value: AccelerationType.encode({ x: Math.sin(id) / 3, y: Math.cos(id) / 5, z: 1 }).finish() },
      timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
    })
  }
  return Buffer.from(SampleCollectionType.encode({ samples }).finish())
}

function rssMib(): number {
  return Math.round(processMemoryBytes(service.child.pid!, 'VmRSS') / (1024 * 1024))
}
const rssSamples: Array<{ second: number; mib: number }> = []
const startedAt = Date.now()
const rssTimer = setInterval(() => rssSamples.push({ second: Math.round((Date.now() - startedAt) / 1000), mib: rssMib() }), 5000)
rssSamples.push({ second: 0, mib: rssMib() })

let connectionCounter = 0
console.log(`load: ${connections} connections, ${batchSize} samples per upload, ${deviceCount} devices, ${durationSeconds} s (at most ${maxRequests} requests) against ${baseUrl}`)
const result = await autocannon({
  url: baseUrl,
  connections,
  duration: durationSeconds,
  // Not `amount`, which would override the duration: both bounds hold.
  maxOverallRequests: maxRequests,
  timeout: 60,
  requests: [
    {
      method: 'POST',
      path: '/v1/samples',
      setupRequest(request, context) {
        // Each connection uploads as one device, as a phone would.
        const connection = context as { token?: string }
        connection.token ??= tokens[connectionCounter++ % tokens.length]
        return { ...request, headers: { 'content-type': CONTENT_TYPES.collection, authorization: `Bearer ${connection.token}` }, body: nextBody() }
      },
    },
  ],
})
clearInterval(rssTimer)
rssSamples.push({ second: Math.round((Date.now() - startedAt) / 1000), mib: rssMib() })

const statusCounts: Record<string, number> = {}
for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[status] = stats?.count ?? 0
const unintended = Object.keys(statusCounts).filter((status) => !INTENDED.has(Number(status)))
const okUploads = statusCounts['200'] ?? 0
const half = rssSamples.slice(Math.floor(rssSamples.length / 2))
const secondHalfGrowth = half.length > 1 ? half[half.length - 1]!.mib - half[0]!.mib : 0

console.log(
  [
    `uploads: ${result.requests.total} in ${result.duration.toFixed(1)} s, ${result.requests.average.toFixed(1)} req/s average`,
    `samples stored: ${okUploads * batchSize} (${Math.round((okUploads * batchSize) / result.duration)} samples/s)`,
    `latency: p50 ${result.latency.p50} ms, p90 ${result.latency.p90} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
    `answers by status: ${JSON.stringify(statusCounts)}; errors ${result.errors}, timeouts ${result.timeouts}`,
    `service RSS (MiB) over time: ${rssSamples.map((sample) => `${sample.second}s=${sample.mib}`).join(' ')}`,
    `RSS change over the second half: ${secondHalfGrowth >= 0 ? '+' : ''}${secondHalfGrowth} MiB`,
  ].join('\n'),
)

const exitCode = (await service.stop('SIGTERM')).code
fs.rmSync(dataDir, { recursive: true, force: true })
const failures = [
  ...(unintended.length > 0 ? [`unintended statuses ${unintended.join(', ')}`] : []),
  ...(result.errors > 0 || result.timeouts > 0 ? [`${result.errors} errors, ${result.timeouts} timeouts`] : []),
  ...(secondHalfGrowth > 100 ? [`RSS grew ${secondHalfGrowth} MiB over the second half`] : []),
  ...(exitCode !== 0 ? [`the service exited with ${exitCode}`] : []),
]
if (failures.length > 0) {
  console.error(`load: FAILED: ${failures.join('; ')}`)
  process.exitCode = 1
} else {
  console.log('load: OK')
}
