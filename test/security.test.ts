// Security against the real service: tokens never reach the logs, a device writes only its
// own rows, hostile strings are stored verbatim (parameters only, no SQL built from input),
// the database roles hold what they should, the per-device rate limit and the upload size
// limits answer as documented, and the embedded mode listens on loopback by default.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SampleType } from '../src/codec/proto.ts'
import { loadConfig } from '../src/config.ts'
import { addDevice, revokeDevice } from '../src/db/devices.ts'
import { sqlClient, upload } from './support/http.ts'
import { runToExit, spawnTs, startService, type RunningService } from './support/service.ts'

let service: RunningService
let sql: pg.Client
beforeAll(async () => {
  service = await startService({
    env: { LOG_LEVEL: 'trace', RATE_LIMIT_SAMPLES_PER_SECOND: '100', RATE_LIMIT_BURST: '1000', MAX_SAMPLES_PER_UPLOAD: '1000' },
  })
  sql = await sqlClient(service.databaseUrl)
})
afterAll(async () => {
  await sql?.end()
  expect(await service?.stop()).toBe(0)
})

const HOSTILE = [
  "'); drop table devices; --",
  "robert'); delete from location_samples where ('1'='1",
  '$1 $2 ::text; select pg_sleep(10)',
  '\\x00\\\\ backslashes \\',
  '"double" `back` \'single\'',
  'ünïcødé 🚀 ✓ 中文',
  '%s %d %n {{7*7}} ${process.exit()}',
  '<script>alert(1)</script>',
]

function ndjson(samples: Array<{ id: number; typeUrl?: string; fields?: Record<string, unknown> }>): string {
  return samples
    .map(({ id, typeUrl = 'type.googleapis.com/Acceleration', fields = { x: 0.1, y: 0.2, z: 1 } }) =>
      JSON.stringify({ id: String(id), data: { '@type': typeUrl, ...fields }, timestamp: new Date(Date.UTC(2024, 0, 1) + id * 20).toISOString() }),
    )
    .join('\n')
}

/** A devices command run to its end; stdout and stderr together, where a terminal shows both. */
async function devices(...args: string[]): Promise<{ code: number | null; printed: string }> {
  const { code, stdout, stderr } = await runToExit(spawnTs('src/cli/devices.ts', args, { DATA_DIR: service.dataDir, LOG_LEVEL: 'warn' }))
  return { code, printed: stdout + stderr }
}

describe('tokens', () => {
  it('are never logged: not the token, not its secret, whatever the outcome of the request', async () => {
    const { token } = await addDevice(sql, 'logged-device')
    expect((await upload(service.baseUrl, ndjson([{ id: 1 }]), { contentType: 'application/x-ndjson', token })).status).toBe(200)
    expect((await upload(service.baseUrl, 'not json', { contentType: 'application/x-ndjson', token })).status).toBe(400)
    const wrongSecret = `${token.split('.')[0]}.${'A'.repeat(43)}`
    expect((await upload(service.baseUrl, ndjson([{ id: 2 }]), { contentType: 'application/x-ndjson', token: wrongSecret })).status).toBe(401)
    await revokeDevice(sql, 'logged-device')
    // Refused once the cached lookup expires (AUTH_CACHE_TTL, 5 s).
    let status = 200
    while (status === 200) status = (await upload(service.baseUrl, ndjson([{ id: 3 }]), { contentType: 'application/x-ndjson', token })).status
    expect(status).toBe(401)
    const output = service.output()
    expect(output.length).toBeGreaterThan(0)
    for (const secret of [token, token.split('.')[1]!, service.token, service.token.split('.')[1]!, 'A'.repeat(43)]) expect(output).not.toContain(secret)
  })

  it('a device writes only its own rows, even with the same sample ids as another', async () => {
    const a = await addDevice(sql, 'device-a')
    const b = await addDevice(sql, 'device-b')
    for (const { token } of [a, b]) {
      const answer = await upload(service.baseUrl, ndjson([{ id: 100 }, { id: 101 }]), { contentType: 'application/x-ndjson', token })
      expect(answer.body).toMatchObject({ accepted: 2, duplicates: 0 })
    }
    const rows = await sql.query('select device_id, count(*)::int as n from acceleration_samples where sample_id in (100, 101) group by device_id order by device_id')
    expect(rows.rows).toEqual([
      { device_id: a.device.id, n: 2 },
      { device_id: b.device.id, n: 2 },
    ])
  })
})

describe('SQL injection is impossible by construction', () => {
  it('hostile device names given to the devices command are refused, and nothing is stored or dropped', async () => {
    const before = (await sql.query('select count(*)::int as n from devices')).rows[0].n
    for (const name of HOSTILE) {
      const result = await devices('add', name)
      expect(result.code, result.printed).toBe(1)
      expect(result.printed).toContain('is not a device name')
    }
    expect((await sql.query('select count(*)::int as n from devices')).rows[0].n).toBe(before)
    expect(Number((await sql.query('select count(*) from location_samples')).rows[0].count)).toBeGreaterThanOrEqual(0) // the tables are all still there
  })

  it('names stored before the character set was limited are listed escaped, never raw', async () => {
    // Written with SQL, as an older version of the tool did: a terminal escape and a forged line.
    await sql.query("insert into devices (name, token_selector, token_hash) values ($1, 'legacy-selector-1', decode(repeat('00', 32), 'hex'))", ['evil\x1b[2J\n99\tforged\tactive'])
    const listed = await devices('list')
    expect(listed.printed).not.toContain('\x1b')
    expect(listed.printed).not.toMatch(/^99\tforged/m)
    expect(listed.printed).toContain('"evil\\u001b[2J\\n99\\tforged\\tactive"')
  })

  it('hostile type URLs of unknown kinds are stored verbatim, with their payload bytes', async () => {
    const { device, token } = await addDevice(sql, 'type-url-device')
    // Type URLs are printable ASCII without spaces (the codec refuses the rest): hostile within that.
    const typeUrls = ["type.googleapis.com/x');drop/**/table/**/devices;--", "example.com/$1::text'||pg_sleep(5)||'", 'a/"quoted"\\back\\slash%00;', "x/';select'"]
    const payload = Buffer.from("'); drop table other_samples; --")
    const body = Buffer.concat(
      typeUrls.map((typeUrl, i) => SampleType.encodeDelimited({ id: 500 + i, data: { type_url: typeUrl, value: payload }, timestamp: { seconds: 1_700_000_000 + i, nanos: 0 } }).finish()),
    )
    const answer = await upload(service.baseUrl, body, { contentType: 'application/octet-stream', token })
    expect(answer.body).toMatchObject({ accepted: typeUrls.length })
    const stored = await sql.query<{ type_url: string; payload: Buffer }>('select type_url, payload from other_samples where device_id = $1 order by sample_id', [device.id])
    expect(stored.rows.map((row) => row.type_url)).toEqual(typeUrls)
    for (const row of stored.rows) expect(row.payload.equals(payload)).toBe(true)
  })
})

describe('database roles (sql/020_roles.sql)', () => {
  async function asRole(role: string, statement: string): Promise<string> {
    await sql.query('begin')
    try {
      await sql.query(`set local role ${role}`)
      await sql.query(statement)
      return 'allowed'
    } catch (error) {
      return (error as { code?: string }).code === '42501' ? 'denied' : `error ${(error as Error).message}`
    } finally {
      await sql.query('rollback')
    }
  }

  it('the service role can authenticate devices and insert samples, and nothing else', async () => {
    const allowed = [
      "select id, token_hash from devices where token_selector = 'x'",
      "insert into acceleration_samples values ('2001-01-01', 1, 1, 0, 0, 0) on conflict do nothing",
      "insert into other_samples values ('2001-01-01', 1, 1, 'a/b', '') on conflict do nothing",
      'select version from schema_migrations',
    ]
    const denied = [
      "update devices set revoked_at = null",
      "insert into devices (name, token_selector, token_hash) values ('x', 'y', '')",
      'delete from location_samples',
      'update acceleration_samples set x = 0',
      'truncate activity_samples',
      'drop table other_samples',
      'create table evil (x int)',
      "alter table devices add column evil int",
    ]
    for (const statement of allowed) expect(await asRole('telemetry_service', statement), statement).toBe('allowed')
    for (const statement of denied) expect(await asRole('telemetry_service', statement), statement).toBe('denied')
  })

  it('the reader role reads samples, aggregates and device names, but not token hashes, and writes nothing', async () => {
    const allowed = ['select count(*) from acceleration_samples', 'select * from location_samples_per_hour limit 1', 'select id, name, revoked_at from devices']
    const denied = ['select token_hash from devices', "insert into location_samples values (now(), 1, 1, 0, 0)", 'delete from activity_samples', 'create table evil (x int)']
    for (const statement of allowed) expect(await asRole('telemetry_reader', statement), statement).toBe('allowed')
    for (const statement of denied) expect(await asRole('telemetry_reader', statement), statement).toBe('denied')
  })
})

describe('a transaction\'s own settings end with it', () => {
  // Found in CI: the role of a `set local role` was read back as the session's own while its
  // transaction was open; after ROLLBACK, once another session had had the shared backend,
  // that role was put back, and the client's next INSERT was refused (42501).
  it('after ROLLBACK of SET LOCAL ROLE and SET LOCAL, and another session in between, the client is itself again', async () => {
    const other = await sqlClient(service.databaseUrl)
    try {
      await sql.query('begin')
      await sql.query('set local role telemetry_reader')
      await sql.query("set local statement_timeout = '1234ms'")
      expect((await sql.query('select current_user as who')).rows[0].who).toBe('telemetry_reader')
      await sql.query('rollback')
      await other.query('select 1')
      expect((await sql.query('select current_user as who')).rows[0].who).toBe('postgres')
      expect((await sql.query('show statement_timeout')).rows[0].statement_timeout).toBe('0')
      // A plain SET inside a transaction that commits does stay, as on a server.
      await sql.query('begin')
      await sql.query("set statement_timeout = '4321ms'")
      await sql.query('commit')
      await other.query('select 1')
      expect((await sql.query('show statement_timeout')).rows[0].statement_timeout).toBe('4321ms')
      await sql.query('reset statement_timeout')
    } finally {
      await other.end()
    }
  })
})

describe('limits', () => {
  it('a device over its rate gets 429 + Retry-After; other devices are not affected', async () => {
    const first = await addDevice(sql, 'fast-device')
    const second = await addDevice(sql, 'other-device')
    const batch = (from: number, count: number): string => ndjson(Array.from({ length: count }, (_, i) => ({ id: from + i })))
    expect((await upload(service.baseUrl, batch(0, 1000), { contentType: 'application/x-ndjson', token: first.token })).status).toBe(200)
    const limited = await upload(service.baseUrl, batch(1000, 500), { contentType: 'application/x-ndjson', token: first.token })
    expect(limited.status).toBe(429)
    expect(limited.body.error.code).toBe('rate_limited')
    const wait = Number(limited.headers.get('retry-after'))
    expect(wait).toBeGreaterThanOrEqual(4) // 500 samples at 100/s, less what refilled meanwhile
    expect(wait).toBeLessThanOrEqual(5)
    expect((await upload(service.baseUrl, batch(0, 1000), { contentType: 'application/x-ndjson', token: second.token })).status).toBe(200)
    // Refused means nothing stored.
    const stored = await sql.query('select count(*)::int as n from acceleration_samples where device_id = $1', [first.device.id])
    expect(stored.rows[0].n).toBe(1000)
    // After the wait it was told, the upload fits.
    await new Promise((resolve) => setTimeout(resolve, wait * 1000))
    expect((await upload(service.baseUrl, batch(1000, 500), { contentType: 'application/x-ndjson', token: first.token })).status).toBe(200)
  })

  it('an upload with more samples than MAX_SAMPLES_PER_UPLOAD is refused whole with 413', async () => {
    const { device, token } = await addDevice(sql, 'big-batch-device')
    const answer = await upload(service.baseUrl, ndjson(Array.from({ length: 1001 }, (_, i) => ({ id: i }))), { contentType: 'application/x-ndjson', token })
    expect(answer.status).toBe(413)
    expect(answer.body.error).toMatchObject({ code: 'too_many_samples', details: { samples: 1001, limit: 1000 } })
    expect((await sql.query('select count(*)::int as n from acceleration_samples where device_id = $1', [device.id])).rows[0].n).toBe(0)
  })

  it('metrics and the embedded SQL port listen on loopback unless told otherwise', () => {
    const defaults = loadConfig({})
    expect(defaults.metricsHost).toBe('127.0.0.1')
    expect(defaults.embeddedPgHost).toBe('127.0.0.1')
    expect(new URL(service.metricsUrl).hostname).toBe('127.0.0.1')
    expect(new URL(service.databaseUrl).hostname).toBe('127.0.0.1')
    expect(defaults).toMatchObject({ maxBodyBytes: 64 * 1024 * 1024, maxSamplesPerUpload: 100_000, requestTimeoutMs: 60_000, maxHeaderBytes: 16 * 1024 })
  })
})
