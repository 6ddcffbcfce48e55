// node --import tsx tools/bench/auth-flood.ts [--seconds 15] [--flood 64] [--batch 500]
//
// A real device's upload rate alone, then while `--flood` connections post random well-formed
// tokens as fast as they can (autocannon), against the service on the embedded default.
// Prints both rates, their ratio, and what the flood got back. The behaviour behind it (the
// token checked first, cached, failures limited per address, admission after authentication)
// is asserted in test/upload-port.test.ts; this measures it.
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import Long from 'long'
import { CONTENT_TYPES } from '../../src/codec/index.ts'
import { AccelerationType, SampleCollectionType, TYPE_URL_PREFIX } from '../../src/codec/proto.ts'
import { localTokenPath } from '../../src/config.ts'
import { startEntry } from '../../test/support/project-process.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    flood: { type: 'string', default: '64' },
    batch: { type: 'string', default: '500' },
    // Internal: this script in a process of its own is the flood, so that generating it does
    // not slow the measured device's event loop.
    'flood-url': { type: 'string' },
  },
})
const seconds = Number(values.seconds)
const floodConnections = Number(values.flood)
const batchSize = Number(values.batch)
let nextId = 0
if (values['flood-url']) {
  process.stdout.write(JSON.stringify(await flood(values['flood-url'])))
  process.exit(0)
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-auth-flood-'))
const service = await startEntry({
  entry: 'src/main.ts',
  env: { HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', EMBEDDED_PG_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', RATE_LIMIT_SAMPLES_PER_SECOND: '10000000', RATE_LIMIT_BURST: '10000000' },
  readyMessage: 'ready',
})
const baseUrl = `http://127.0.0.1:${new URL(service.ready.http as string).port}`
const token = fs.readFileSync(localTokenPath(dataDir), 'utf8').trim()

function nextBody(): Buffer {
  const samples = []
  for (let i = 0; i < batchSize; i++) {
    const id = nextId++
    const ms = Date.UTC(2024, 0, 1) + id * 20
    samples.push({
      id: Long.fromNumber(id),
      data: { type_url: `${TYPE_URL_PREFIX}Acceleration`, value: AccelerationType.encode({ x: 0.1, y: 0.2, z: 1 }).finish() },
      timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
    })
  }
  return Buffer.from(SampleCollectionType.encode({ samples }).finish())
}

/** One device uploading back to back for `seconds`: uploads stored per second, and the other answers. */
async function realDevice(): Promise<{ perSecond: number; statuses: Record<number, number> }> {
  const statuses: Record<number, number> = {}
  const endAt = performance.now() + seconds * 1000
  let stored = 0
  while (performance.now() < endAt) {
    const response = await fetch(`${baseUrl}/v1/samples`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': CONTENT_TYPES.collection },
      body: nextBody(),
    })
    await response.arrayBuffer()
    statuses[response.status] = (statuses[response.status] ?? 0) + 1
    if (response.status === 200) stored++
  }
  return { perSecond: stored / seconds, statuses }
}

/** `floodConnections` connections posting random well-formed tokens for `seconds`. */
async function flood(url: string): Promise<{ requestsPerSecond: number; statuses: Record<string, number>; errors: number }> {
  const randomToken = () => `${crypto.randomBytes(8).toString('hex')}.${crypto.randomBytes(32).toString('base64url')}`
  const body = nextBody()
  const result = await autocannon({
    url,
    connections: floodConnections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/samples',
        setupRequest: (request) => ({ ...request, headers: { 'content-type': CONTENT_TYPES.collection, authorization: `Bearer ${randomToken()}` }, body }),
      },
    ],
  })
  const statuses: Record<string, number> = {}
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = stats?.count ?? 0
  return { requestsPerSecond: Math.round(result.requests.average), statuses, errors: result.errors }
}

try {
  await realDevice() // warm-up: the first uploads create chunks and compile queries
  const alone = await realDevice()
  const flooder = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--flood-url', baseUrl, '--seconds', String(seconds), '--flood', String(floodConnections), '--batch', String(batchSize)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let floodOutput = ''
  flooder.stdout.on('data', (chunk: Buffer) => (floodOutput += chunk.toString()))
  const [during] = await Promise.all([realDevice(), once(flooder, 'exit')])
  const flood = JSON.parse(floodOutput) as { requestsPerSecond: number; statuses: Record<string, number>; errors: number }
  console.log(
    JSON.stringify(
      {
        batch: batchSize,
        seconds,
        floodConnections,
        realDeviceUploadsPerSecondAlone: Number(alone.perSecond.toFixed(1)),
        realDeviceUploadsPerSecondDuringFlood: Number(during.perSecond.toFixed(1)),
        ratio: Number((during.perSecond / alone.perSecond).toFixed(2)),
        realDeviceAnswersDuringFlood: during.statuses,
        floodRequestsPerSecond: flood.requestsPerSecond,
        floodAnswers: flood.statuses,
        floodErrors: flood.errors,
      },
      null,
      2,
    ),
  )
} finally {
  await service.stop()
  fs.rmSync(dataDir, { recursive: true, force: true })
}
