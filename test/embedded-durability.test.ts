// A 200 from the embedded database means the upload's WAL is on stable storage: counted at the
// file system layer (every sync DurableNodeFS makes, in order with the answers), and once for
// real under strace on the running service and on `npm run db`.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { metrics } from '@opentelemetry/api'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.ts'
import { addDevice } from '../src/db/devices.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/db/embedded/index.ts'
import type { SyncCall } from '../src/db/embedded/durable-fs.ts'
import { migrate } from '../src/db/migrate.ts'
import { createPool, type Pool } from '../src/db/pool.ts'
import { createApp } from '../src/http/app.ts'
import { ingestStore } from '../src/db/ingest-store.ts'
import { createLogger } from '../src/logger.ts'
import { httpServerMetrics } from '../src/telemetry/http-metrics.ts'
import { ingestMetrics } from '../src/telemetry/ingest-metrics.ts'
import { startDatabaseProcess } from './support/database-process.ts'
import { sqlClient, upload } from './support/http.ts'
import { freePort } from './support/prometheus.ts'
import { startService, temporaryDir } from './support/service.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const logger = createLogger({ logLevel: 'silent' })
let nextSampleId = 1

/** An ndjson upload of `count` new location samples. */
function samples(count: number): string {
  const lines: string[] = []
  for (let i = 0; i < count; i++) {
    const id = nextSampleId++
    lines.push(JSON.stringify({ id: String(id), data: { '@type': 'type.googleapis.com/Location', latitude: 48, longitude: 2 }, timestamp: new Date(Date.UTC(2024, 2, 1) + id * 20).toISOString() }))
  }
  return lines.join('\n')
}

const isWalSync = (call: SyncCall): boolean => call.call === 'fdatasync' && call.file.startsWith('pg_wal/')

it('EMBEDDED_FSYNC is on unless switched off', () => {
  expect(loadConfig({}).embeddedFsync).toBe(true)
  expect(loadConfig({ EMBEDDED_FSYNC: 'off' }).embeddedFsync).toBe(false)
  expect(loadConfig({ EMBEDDED_FSYNC: 'ON' }).embeddedFsync).toBe(true)
  expect(() => loadConfig({ EMBEDDED_FSYNC: 'sometimes' })).toThrow(ConfigError)
})

describe('the file system layer syncs every commit before it is answered', () => {
  async function inProcess(fsync: boolean): Promise<{ syncs: SyncCall[]; database: EmbeddedDatabase; pool: Pool; app: ReturnType<typeof createApp>; token: string }> {
    const dataDir = temporaryDir()
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }))
    const syncs: SyncCall[] = []
    const database = await startEmbeddedDatabase({ dataDir, host: '127.0.0.1', port: 0, idleInTransactionTimeoutMs: 5000, maxMessageBytes: 64 * 1024 * 1024, password: undefined, fsync, onSync: (call) => syncs.push(call), logger })
    cleanups.push(() => database.close())
    const pool = createPool(database.url, { dbPoolSize: 4, dbConnectTimeoutMs: 5000 }, logger)
    cleanups.push(() => pool.end())
    await migrate(pool, logger)
    const { token } = await addDevice(pool, 'phone')
    const meter = metrics.getMeter('test') // no provider: measures nothing, as the app expects a meter
    const app = createApp({
      ...ingestStore(pool, 1),
      logger,
      telemetry: { httpMiddleware: httpServerMetrics(meter), ...ingestMetrics(meter) },
      maxBodyBytes: 1 << 20,
      retryAfterSeconds: 1,
      maxUploadsInFlight: 16,
      authCacheTtlMs: 5000,
      authFailureBurst: 20,
      authFailuresPerSecond: 1,
      uploadMemoryBudgetBytes: 1 << 26,
      maxSamplesPerUpload: 10_000,
      rateLimitSamplesPerSecond: 1_000_000,
      rateLimitBurstSamples: 1_000_000,
    })
    return { syncs, database, pool, app, token }
  }

  const post = (app: ReturnType<typeof createApp>, token: string, body: string): Promise<Response> =>
    Promise.resolve(app.request('/v1/samples', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body }))

  it('at least one WAL fdatasync between each upload’s arrival and its 200, one per commit from any SQL client, none for reads', async () => {
    const { syncs, database, app, token } = await inProcess(true)

    // Uploads one after the other: each window between arrival and answer holds its WAL sync.
    for (let i = 0; i < 20; i++) {
      const before = syncs.length
      const response = await post(app, token, samples(1 + i * 50))
      expect(response.status).toBe(200)
      expect(syncs.slice(before).filter(isWalSync).length).toBeGreaterThanOrEqual(1)
    }

    // Uploads at once: group commit may put several into one transaction, whose one WAL sync
    // then lies between each of their arrivals and each of their answers.
    const answers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const arrived = syncs.length
        const response = await post(app, token, samples(100))
        return { status: response.status, syncsBeforeAnswer: syncs.slice(arrived).filter(isWalSync).length }
      }),
    )
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200))
    for (const answer of answers) expect(answer.syncsBeforeAnswer).toBeGreaterThanOrEqual(1)

    // Any client of the SQL port: every committed write is synced before its answer; a read is not.
    const client = await sqlClient(database.url)
    cleanups.push(() => client.end())
    await client.query('create table notes (body text)')
    const commits: Array<() => Promise<unknown>> = [
      () => client.query(`insert into notes values ('autocommit')`),
      () => client.query(`begin; insert into notes values ('simple protocol'); commit`),
      () => client.query('insert into notes values ($1)', ['extended protocol']),
      async () => {
        await client.query('begin')
        await client.query('insert into notes values ($1)', ['explicit transaction'])
        await client.query('commit')
      },
    ]
    for (const commit of commits) {
      const before = syncs.length
      await commit()
      expect(syncs.slice(before).filter(isWalSync)).toHaveLength(1)
    }
    const beforeRead = syncs.length
    expect((await client.query('select count(*)::int as n from notes')).rows[0].n).toBe(4)
    expect(syncs.slice(beforeRead)).toEqual([])

    // A checkpoint syncs the data files written since the last one, and their directories.
    const beforeCheckpoint = syncs.length
    await client.query('checkpoint')
    const checkpoint = syncs.slice(beforeCheckpoint)
    expect(checkpoint.some((call) => call.call === 'fsync' && call.file.startsWith('base/'))).toBe(true)
    expect(checkpoint.some((call) => call.file === 'global/pg_control')).toBe(true)
    expect(checkpoint.some((call) => call.file === 'pg_xact')).toBe(true) // a directory
  })

  it('EMBEDDED_FSYNC=off makes no sync at all (the unsafe setting)', async () => {
    const { syncs, app, token } = await inProcess(false)
    expect((await post(app, token, samples(100))).status).toBe(200)
    expect(syncs).toEqual([])
  })
})

interface StraceRun {
  /** Detaches strace and returns the sync calls it saw, with their time (epoch milliseconds) and file. */
  calls(): Promise<Array<{ atMs: number; call: string; file: string }>>
}

/** Attaches strace to a running process (all its threads) and waits until it traces. */
async function straceSyncs(pid: number): Promise<StraceRun> {
  const dir = temporaryDir('strace-')
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  const out = path.join(dir, 'trace')
  // -y names each descriptor's file, -ttt stamps each call with the wall clock.
  const strace = spawn('strace', ['-f', '-y', '-ttt', '-e', 'trace=fsync,fdatasync', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise((resolve) => strace.once('exit', resolve))
  const detach = async (): Promise<void> => {
    if (strace.exitCode === null && strace.signalCode === null) strace.kill('SIGINT')
    await exited
  }
  cleanups.push(detach)
  await new Promise<void>((resolve, reject) => {
    let stderr = ''
    strace.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (stderr.includes('attached')) resolve()
    })
    strace.once('exit', (code) => reject(new Error(`strace exited with ${code}: ${stderr}`)))
  })
  return {
    async calls() {
      await detach() // strace writes its buffered lines out as it ends
      return fs
        .readFileSync(out, 'utf8')
        .split('\n')
        .flatMap((line) => {
          const match = /^\d+\s+(\d+\.\d+) (fsync|fdatasync)\(\d+<([^>]*)>\) = 0/.exec(line)
          return match ? [{ atMs: Number(match[1]) * 1000, call: match[2]!, file: match[3]! }] : []
        })
    },
  }
}

const now = (): number => performance.timeOrigin + performance.now()

describe('under strace: the real processes sync the WAL before they answer', () => {
  it('the service: each 200 is preceded by an fdatasync of the WAL, made after the upload arrived', async () => {
    const service = await startService()
    cleanups.push(() => fs.rmSync(service.dataDir, { recursive: true, force: true }))
    cleanups.push(() => service.stop())
    const trace = await straceSyncs(service.process.pid!)
    const windows: Array<{ sentMs: number; answeredMs: number }> = []
    for (let i = 0; i < 10; i++) {
      const sentMs = now()
      const answer = await upload(service.baseUrl, samples(200), { contentType: 'application/x-ndjson', token: service.token })
      expect(answer.status).toBe(200)
      windows.push({ sentMs, answeredMs: now() })
    }
    const calls = await trace.calls()
    const walSyncs = calls.filter((call) => call.call === 'fdatasync' && call.file.includes('/pg_wal/'))
    for (const window of windows) {
      expect(walSyncs.filter((call) => call.atMs >= window.sentMs && call.atMs <= window.answeredMs).length).toBeGreaterThanOrEqual(1)
    }
    const inWindows = (list: typeof calls) => list.filter((call) => windows.some((window) => call.atMs >= window.sentMs && call.atMs <= window.answeredMs)).length
    console.info(`strace, service: ${inWindows(calls)} sync calls during ${windows.length} uploads, ${inWindows(walSyncs)} of them fdatasync of the WAL`)
  })

  it('npm run db: each commit from a SQL client is answered after an fdatasync of the WAL', async () => {
    const dataDir = temporaryDir()
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }))
    const database = await startDatabaseProcess({ dataDir, port: await freePort() })
    cleanups.push(() => database.stop())
    const trace = await straceSyncs(database.process.pid!)
    const client = new pg.Client(database.url)
    await client.connect()
    cleanups.push(() => client.end())
    await client.query('create table notes (body text)')
    const windows: Array<{ sentMs: number; answeredMs: number }> = []
    for (let i = 0; i < 10; i++) {
      const sentMs = now()
      await client.query('insert into notes values ($1)', [`note ${i}`])
      windows.push({ sentMs, answeredMs: now() })
    }
    const walSyncs = (await trace.calls()).filter((call) => call.call === 'fdatasync' && call.file.includes('/pg_wal/'))
    for (const window of windows) {
      expect(walSyncs.filter((call) => call.atMs >= window.sentMs && call.atMs <= window.answeredMs).length).toBeGreaterThanOrEqual(1)
    }
  })
})
