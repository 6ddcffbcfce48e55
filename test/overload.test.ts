// Overload: far more concurrent large uploads than the service admits. Beyond
// MAX_UPLOADS_IN_FLIGHT / UPLOAD_MEMORY_BUDGET_BYTES an upload is answered at once with 503 +
// Retry-After instead of queueing, nothing fails otherwise, and the process's peak RSS stays
// within the bound the README documents.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { encodeBody, encodeRecord } from '../src/client/encode.ts'
import { readJsonSample } from '../src/codec/json.ts'
import { sqlClient, upload } from './support/http.ts'
import { writeSampleFile } from './support/sample-files.ts'
import { startService, temporaryDir, type RunningService } from './support/service.ts'
import { processMemoryBytes } from './support/project-process.ts'
import { countStoredSamples } from '../src/db/stored-samples.ts'

const MiB = 1024 * 1024
/** The bound docs/operations.md quotes for these settings. */
const PEAK_RSS_BOUND_MIB = 900
const CONCURRENT_UPLOADS = 40
const SAMPLES_PER_UPLOAD = 50_000

let service: RunningService
beforeAll(async () => {
  service = await startService({
    env: { MAX_UPLOADS_IN_FLIGHT: '4', UPLOAD_MEMORY_BUDGET_BYTES: String(64 * MiB), MAX_BODY_BYTES: String(16 * MiB), RETRY_AFTER_SECONDS: '2' },
  })
})
afterAll(async () => {
  expect(await service?.stop()).toBe(0)
})

/** Peak resident set size of a process so far (Linux VmHWM), in MiB. */
function peakRssMib(pid: number): number {
  return processMemoryBytes(pid, 'VmHWM') / (1024 * 1024)
}

it('many concurrent large uploads: at most the limit in flight, the rest 503 + Retry-After, peak RSS bounded', async () => {
  const file = path.join(temporaryDir(), 'batch.jsonl')
  writeSampleFile(file, SAMPLES_PER_UPLOAD)
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n')
  // Each upload its own ids, so every accepted one adds rows.
  const bodies = Array.from({ length: CONCURRENT_UPLOADS }, (_, n) =>
    Buffer.from(
      encodeBody(
        'collection',
        lines.map((line) => {
          const sample = readJsonSample(JSON.parse(line), {})
          return encodeRecord('collection', { ...sample, id: String(BigInt(sample.id) + BigInt(n) * 1_000_000n) }, line)
        }),
      ),
    ),
  )
  const pid = service.process.pid!
  const rssBefore = peakRssMib(pid)
  const answers = await Promise.all(
    bodies.map((body) => upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token: service.token }).catch((error: Error) => error)),
  )
  const statuses = answers.map((answer) => (answer instanceof Error ? 'connection closed' : answer.status))
  const accepted = answers.filter((answer) => !(answer instanceof Error) && answer.status === 200)
  const refused = answers.filter((answer) => !(answer instanceof Error) && answer.status === 503)
  const peak = peakRssMib(pid)
  console.log(`${CONCURRENT_UPLOADS} concurrent uploads of ${(bodies[0]!.length / MiB).toFixed(1)} MiB: ${accepted.length} stored, ${refused.length} refused 503, ` +
    `${statuses.filter((s) => s === 'connection closed').length} closed before the answer; peak RSS ${rssBefore.toFixed(0)} -> ${peak.toFixed(0)} MiB`)

  // An overloaded service refuses early and may close the socket before the client has written
  // the whole body; the client sees a reset and retries like after a 503. No other outcome.
  for (const status of statuses) expect([200, 503, 'connection closed']).toContain(status)
  expect(accepted.length).toBeGreaterThanOrEqual(4)
  expect(accepted.length).toBeLessThan(CONCURRENT_UPLOADS)
  for (const answer of refused) {
    if (answer instanceof Error) continue
    expect(answer.headers.get('retry-after')).toBe('2')
    expect(answer.body.error.code).toBe('overloaded')
  }
  expect(peak).toBeLessThan(PEAK_RSS_BOUND_MIB)

  // What was answered 200 is stored, nothing else.
  const sql = await sqlClient(service.databaseUrl)
  expect(await countStoredSamples(sql)).toBe(accepted.length * SAMPLES_PER_UPLOAD)
  await sql.end()
  // And the service is still fine.
  expect((await fetch(`${service.baseUrl}/readyz`)).status).toBe(200)
})
