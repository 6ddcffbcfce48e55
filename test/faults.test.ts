// Faults, each against real processes: the database going away under a running service, the
// service killed mid-write, and graceful shutdown. A 200 means committed; anything else means
// nothing stored, and the client's retries fill the gaps exactly once.
import net from 'node:net'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { sendFiles } from '../src/client/send-files.ts'
import { encodeBody, encodeRecord } from '../src/client/encode.ts'
import { readJsonSample } from '../src/codec/json.ts'
import { addDevice } from '../src/db/devices.ts'
import { startDatabaseProcess, type DatabaseProcess } from './support/database-process.ts'
import { sqlClient, upload } from './support/http.ts'
import { freePort } from './support/prometheus.ts'
import { fileChecksum, storedChecksum, writeSampleFile } from './support/sample-files.ts'
import { startService, temporaryDir } from './support/service.ts'
import fs from 'node:fs'

const running: Array<{ stop(signal?: NodeJS.Signals): Promise<unknown> }> = []
afterEach(async () => {
  for (const process of running.splice(0).reverse()) await process.stop('SIGKILL')
})

const FAST_RETRIES = { maxRetries: 60, baseDelayMs: 100, maxDelayMs: 1000, maxTotalWaitMs: 120_000 }

/** One protobuf SampleCollection holding every line of a sample file. */
function collectionOf(file: string): Buffer {
  const records = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line)
    .map((line) => encodeRecord('collection', readJsonSample(JSON.parse(line), {}), line))
  return Buffer.from(encodeBody('collection', records))
}

describe('the database goes down mid-stream', () => {
  it('uploads answer 503 + Retry-After, /readyz 503, the service stays up; after the database returns the client has stored every sample exactly once', async () => {
    const dataDir = temporaryDir()
    const port = await freePort()
    let database: DatabaseProcess = await startDatabaseProcess({ dataDir, port })
    running.push({ stop: (signal) => database.stop(signal) })
    const owner = await sqlClient(database.url)
    const { device, token } = await addDevice(owner, 'phone')
    await owner.end()

    const service = await startService({ env: { DATABASE_URL: database.url, RETRY_AFTER_SECONDS: '1', DB_CONNECT_TIMEOUT: '1s' } })
    running.push(service)
    const file = path.join(temporaryDir(), 'samples.jsonl')
    writeSampleFile(file, 40_000)

    let accepted = 0
    const sending = sendFiles({
      files: [file],
      url: service.baseUrl,
      token,
      batchSize: 500,
      concurrency: 2,
      retry: FAST_RETRIES,
      onProgress: (state) => (accepted = state.samplesSent),
    })
    await until(() => accepted >= 5000)

    // Killed, not stopped: the database gets no chance to say goodbye.
    expect(await database.stop('SIGKILL')).toBe('SIGKILL')
    const refused = await upload(service.baseUrl, fs.readFileSync(file, 'utf8').split('\n').slice(0, 100).join('\n'), { contentType: 'application/x-ndjson', token })
    expect(refused.status).toBe(503)
    expect(refused.body.error.code).toBe('database_unavailable')
    expect(refused.headers.get('retry-after')).toBe('1')
    const ready = await fetch(`${service.baseUrl}/readyz`)
    expect(ready.status).toBe(503)
    expect(ready.headers.get('retry-after')).toBe('1')
    expect((await fetch(`${service.baseUrl}/healthz`)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 2000)) // the client keeps retrying meanwhile
    expect(service.process.exitCode).toBeNull()

    database = await startDatabaseProcess({ dataDir, port })
    await until(async () => (await fetch(`${service.baseUrl}/readyz`)).status === 200)
    const summary = await sending
    expect(summary).toMatchObject({ samplesRead: 40_000, rejected: 0, unsent: 0 })
    expect(summary.accepted + summary.duplicates).toBe(40_000)
    expect(summary.retries).toBeGreaterThan(0)

    const sql = await sqlClient(database.url)
    const stored = await storedChecksum(sql, device.id)
    await sql.end()
    expect(stored).toEqual(fileChecksum([file]))
    expect(await service.stop()).toBe(0)
    expect(await database.stop()).toBe(0)
  })
})

describe('the service is killed mid-upload', () => {
  it('the table holds the batch entirely or not at all, and the client retry completes it', async () => {
    const file = path.join(temporaryDir(), 'batch.jsonl')
    const SAMPLES = 60_000
    writeSampleFile(file, SAMPLES)
    const body = collectionOf(file)
    let service = await startService()
    running.push(service)
    const { dataDir, token } = service

    // How long one such upload takes here (as another device), to kill the next in its write.
    const timingSql = await sqlClient(service.databaseUrl)
    const timingDevice = await addDevice(timingSql, 'timing')
    const started = performance.now()
    expect((await upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token: timingDevice.token })).status).toBe(200)
    const uploadMs = performance.now() - started
    await timingSql.end()

    const outcomes: number[] = []
    for (const fraction of [0.6, 0.95]) {
      const answer = upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token }).catch((error: Error) => error)
      await new Promise((resolve) => setTimeout(resolve, uploadMs * fraction))
      expect(await service.stop('SIGKILL')).toBeNull()
      const result = await answer
      service = await startService({ dataDir })
      running.push(service)
      const sql = await sqlClient(service.databaseUrl)
      const rows = (await storedChecksum(sql, 1)).count // device 1: `local`, whose upload was cut
      await sql.end()
      if (result instanceof Error) {
        // The connection died unanswered: the client must retry; the batch is all there or absent.
        expect([0, SAMPLES]).toContain(rows)
      } else {
        // The kill is timed from an earlier upload and can land just after this one was
        // answered (a retried batch of duplicates is quicker): a 200 means all of it is stored.
        expect(result.status).toBe(200)
        expect(rows).toBe(SAMPLES)
      }
      outcomes.push(rows)
    }

    const summary = await sendFiles({ files: [file], url: service.baseUrl, token, batchSize: SAMPLES, retry: FAST_RETRIES })
    expect(summary.accepted + summary.duplicates).toBe(SAMPLES)
    const sql = await sqlClient(service.databaseUrl)
    expect(await storedChecksum(sql, 1)).toEqual(fileChecksum([file]))
    await sql.end()
    expect(await service.stop()).toBe(0)
    console.log(`killed mid-upload (${Math.round(uploadMs)} ms per upload): rows after restart ${outcomes.join(', ')}`)
  })
})

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('on %s: stops accepting, finishes the upload in flight, exits 0', async (signal) => {
    const file = path.join(temporaryDir(), 'batch.jsonl')
    writeSampleFile(file, 20_000)
    const body = collectionOf(file)
    const service = await startService({ env: { MAX_BODY_BYTES: String(body.length * 2) } })
    running.push(service)
    const answer = upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token: service.token })
    await new Promise((resolve) => setTimeout(resolve, 300))
    service.process.kill(signal)
    await until(() => service.output().includes('shutting down'))
    const port = Number(new URL(service.baseUrl).port)
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    const finished = await answer
    expect(finished.status).toBe(200)
    expect(finished.body.accepted).toBe(20_000)
    expect(await service.stop()).toBe(0)
    expect(service.output()).toContain('"msg":"stopped"')
  })

  it('an upload that does not finish is cut off at SHUTDOWN_TIMEOUT, and the service still exits 0', async () => {
    const service = await startService({ env: { SHUTDOWN_TIMEOUT: '1500ms', REQUEST_TIMEOUT: '60s' } })
    running.push(service)
    // Headers and half a body, then silence: an upload that would never end by itself.
    const socket = await connect(Number(new URL(service.baseUrl).port))
    socket.write(
      `POST /v1/samples HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${service.token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{"id":"1",`,
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    const signalled = performance.now()
    service.process.kill('SIGTERM')
    expect(await service.stop()).toBe(0)
    const tookMs = performance.now() - signalled
    expect(tookMs).toBeGreaterThan(1400)
    expect(tookMs).toBeLessThan(6000)
    expect(service.output()).toContain('uploads still in flight at the shutdown timeout')
    socket.destroy()
  })
})

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await Promise.resolve().then(condition).catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
