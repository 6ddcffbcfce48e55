// DATABASE_URL: the same service against a database server instead of the embedded default,
// and the refusal of a PostgreSQL server that has no TimescaleDB.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from './support/fixtures.ts'
import { runToExit, spawnTs, startService, temporaryDir, type RunningService } from './support/service.ts'
import { startPlainPostgres, type PlainPostgres } from './support/postgres.ts'
import { deviceRows, sqlClient, upload } from './support/http.ts'
import { addDevice } from '../src/db/devices.ts'

describe('on a PostgreSQL server without TimescaleDB, or with it installed but not preloaded', () => {
  let postgres: PlainPostgres

  beforeAll(async () => {
    postgres = await startPlainPostgres()
  })
  afterAll(() => postgres?.stop())

  const tables = async (): Promise<string[]> => {
    const client = await sqlClient(postgres.url)
    const result = await client.query<{ name: string }>("select tablename as name from pg_tables where schemaname = 'public'")
    await client.end()
    return result.rows.map((row) => row.name)
  }

  const timescaleInstalled = async (): Promise<boolean> => {
    const client = await sqlClient(postgres.url)
    const result = await client.query<{ installed: boolean }>("select exists (select 1 from pg_available_extensions where name = 'timescaledb') as installed")
    await client.end()
    return result.rows[0]!.installed
  }

  it.each([
    ['npm run migrate', 'src/cli/migrate.ts'],
    ['npm start', 'src/main.ts'],
  ])('%s fails at once with one clear message and changes nothing', async (_, entry) => {
    const started = Date.now()
    const result = await runToExit(spawnTs(entry, [], { DATABASE_URL: postgres.url, PORT: '0', METRICS_PORT: '0' }))
    expect(result.code).toBe(1)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    // Debian's PostgreSQL 15 on a machine where TimescaleDB was built for it has the extension
    // installed but not preloaded (the common server mistake); elsewhere it lacks it entirely.
    expect(lines[0]).toMatch(
      (await timescaleInstalled()) ? /TimescaleDB is installed on this server but not preloaded: add timescaledb to shared_preload_libraries/ : /TimescaleDB is required/,
    )
    expect(lines[0]).toMatch(/timescale\/timescaledb/)
    expect(lines[0]).toMatch(/Nothing was changed/)
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(await tables()).toEqual([])
  })
})

describe('with DATABASE_URL set to a TimescaleDB server', () => {
  // The server is another service's embedded TimescaleDB, reached over the wire protocol
  // exactly as a timescale/timescaledb container would be.
  let server: RunningService
  let client: RunningService

  beforeAll(async () => {
    server = await startService()
    client = await startService({ env: { DATABASE_URL: server.databaseUrl }, dataDir: temporaryDir() })
  })
  afterAll(async () => {
    await client?.stop()
    await server?.stop()
  })

  it('runs the same service: no embedded database, no local device, uploads stored', async () => {
    expect(client.output()).not.toContain('created device')
    expect(fs.existsSync(path.join(client.dataDir, 'pgdata'))).toBe(false)
    const sql = await sqlClient(server.databaseUrl)
    const { device, token } = await addDevice(sql, 'through-database-url')
    const answer = await upload(client.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token })
    expect(answer.status).toBe(200)
    expect(answer.body.accepted).toBe(6)
    expect(await deviceRows(sql, device.id)).toHaveLength(6)
    await sql.end()
  })

  it('npm run migrate applies nothing twice', async () => {
    const result = await runToExit(spawnTs('src/cli/migrate.ts', [], { DATABASE_URL: server.databaseUrl }))
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/schema is up to date: (\d+) of \1 migrations applied/)
  })

  it('when the database goes away: 503 with Retry-After, /readyz 503, and the process stays up', async () => {
    expect(await server.stop()).toBe(0)
    const answer = await upload(client.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: 'a'.repeat(16) + '.' + 'b'.repeat(43) })
    expect(answer.status).toBe(503)
    expect(answer.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(answer.body.error.code).toBe('database_unavailable')
    const ready = await fetch(`${client.baseUrl}/readyz`)
    expect(ready.status).toBe(503)
    expect(ready.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await fetch(`${client.baseUrl}/healthz`)).status).toBe(200)
    expect(client.process.exitCode).toBeNull()
  })
})
