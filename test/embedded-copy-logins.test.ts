// COPY on the embedded SQL port for logins other than postgres: psql's \copy and pg-copy-streams
// as telemetry_reader and telemetry_service, with exactly those roles' privileges, and never a
// server file (see copy-translation.ts for why the way it runs is safe).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from './support/fixtures.ts'
import { addTestDevice, deviceRows, sqlClient, upload } from './support/http.ts'
import { runToExit, startService, temporaryDir, type Finished, type RunningService } from './support/service.ts'
import { dataRows, errorCode, wire, WireClient } from './support/wire-client.ts'

const PASSWORDS = { telemetry_reader: 'reader copy pass', telemetry_service: 'service copy pass' }
type Login = keyof typeof PASSWORDS

let service: RunningService
let sql: pg.Client
let scratch: string
let device: { id: number; token: string }

beforeAll(async () => {
  service = await startService()
  sql = await sqlClient(service.databaseUrl)
  for (const [role, password] of Object.entries(PASSWORDS)) await sql.query(`alter role ${role} password '${password}'`)
  await sql.query("create table copy_target(a text, b int); grant select on copy_target to telemetry_reader; grant insert on copy_target to telemetry_service")
  scratch = temporaryDir('copy-logins-')
  device = await addTestDevice(sql, 'copy-logins')
  expect((await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: device.token })).status).toBe(200)
})

afterAll(async () => {
  await sql?.end()
  expect(await service?.stop()).toBe(0)
  fs.rmSync(scratch, { recursive: true, force: true })
})

// Whatever a test did, no login may come out of it able to read or write server files.
afterEach(async () => {
  const { rows } = await sql.query(
    `select r.rolname, f.rolname as file_role from pg_roles r cross join pg_roles f
      where r.rolname in ('telemetry_reader', 'telemetry_service') and f.rolname in ('pg_read_server_files', 'pg_write_server_files')
        and pg_has_role(r.oid, f.oid, 'member')`,
  )
  expect(rows).toEqual([])
})

function urlAs(login: Login): string {
  const url = new URL(service.databaseUrl)
  url.username = login
  url.password = encodeURIComponent(PASSWORDS[login])
  return url.toString()
}

function psql(login: Login | 'postgres', args: string[], input = ''): Promise<Finished> {
  const url = login === 'postgres' ? service.databaseUrl : urlAs(login)
  const child = spawn('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const finished = runToExit(child)
  child.stdin.end(input)
  return finished
}

const file = (name: string) => path.join(scratch, name)

describe('telemetry_reader exports what it may SELECT, and nothing else', () => {
  it('\\copy of a query and of a whole sample hypertable: the same bytes the owner gets', async () => {
    for (const [name, source, options] of [
      ['query.tsv', `(select sample_id, time, latitude, longitude from location_samples where device_id = ${device.id} order by sample_id)`, ''],
      ['table.csv', '(select * from location_samples order by device_id, sample_id)', 'csv header'],
      ['activity.bin', `(select * from activity_samples where device_id = ${device.id} order by sample_id)`, 'binary'],
    ]) {
      const asReader = await psql('telemetry_reader', ['-c', `\\copy ${source} to '${file(`reader-${name}`)}' ${options}`])
      expect(asReader.stderr).toBe('')
      const asOwner = await psql('postgres', ['-c', `\\copy ${source} to '${file(`owner-${name}`)}' ${options}`])
      expect(asOwner.stdout).toBe(asReader.stdout)
      expect(fs.readFileSync(file(`reader-${name}`))).toEqual(fs.readFileSync(file(`owner-${name}`)))
    }
    const stored = (await sql.query('select count(*)::int as n from location_samples')).rows[0].n
    expect(stored).toBeGreaterThan(0)
    expect(fs.readFileSync(file('reader-table.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(stored + 1)
    // A hypertable named as a table copies nothing, as on a TimescaleDB server: its rows are in
    // its chunks (TimescaleDB says so in a NOTICE), for the reader as for the owner; the query
    // form above is the way to export one.
    const whole = await psql('telemetry_reader', ['-c', `\\copy location_samples to '${file('whole.tsv')}'`])
    expect([whole.code, whole.stdout.trim()]).toEqual([0, 'COPY 0'])
    expect(whole.stderr).toMatch(/hypertable data are in the chunks/)
    const first = (await sql.query(`select sample_id, latitude from location_samples where device_id = $1 order by sample_id limit 1`, [device.id])).rows[0]
    expect(fs.readFileSync(file('reader-query.tsv'), 'utf8').split('\n')[0]!.split('\t')).toEqual(expect.arrayContaining([String(first.sample_id), String(first.latitude)]))
  })

  it('pg-copy-streams COPY TO STDOUT as the reader', async () => {
    const reader = await sqlClient(urlAs('telemetry_reader'))
    try {
      const chunks: Buffer[] = []
      const stream = reader.query(copyTo('copy (select i, i * 2 from generate_series(1, 3) i) to stdout'))
      for await (const chunk of stream) chunks.push(chunk as Buffer)
      expect(Buffer.concat(chunks).toString()).toBe('1\t2\n2\t4\n3\t6\n')
    } finally {
      await reader.end()
    }
  })

  it('\\copy from a file fails with 42501 like its INSERT, and stores nothing', async () => {
    fs.writeFileSync(file('rows.tsv'), 'x\t1\ny\t2\n')
    const run = await psql('telemetry_reader', ['-c', `\\copy copy_target from '${file('rows.tsv')}'`])
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(/permission denied for table copy_target/)
    expect((await sql.query('select count(*)::int as n from copy_target')).rows[0].n).toBe(0)
  })

  it('a table or column it may not read: 42501 (devices.token_hash)', async () => {
    for (const source of ['devices', '(select name, token_hash from devices)']) {
      const run = await psql('telemetry_reader', ['-c', `\\copy ${source} to '${file('devices.tsv')}'`])
      expect(run.code).not.toBe(0)
      expect(run.stderr).toMatch(/permission denied for table devices/)
    }
    // The columns it is granted it may export.
    const allowed = await psql('telemetry_reader', ['-c', `\\copy (select id, name from devices where id = ${device.id}) to '${file('devices.tsv')}'`])
    expect(allowed.stderr).toBe('')
    expect(fs.readFileSync(file('devices.tsv'), 'utf8')).toMatch(new RegExp(`^${device.id}\tcopy-logins`))
  })

  it('refuses tricks that would reach server files or the engine', async () => {
    const client = await WireClient.connect(urlAs('telemetry_reader'))
    try {
      for (const [statement, code] of [
        ["copy (select pg_read_file('postgres.password')) to stdout", '42501'],
        ["copy (select pg_read_binary_file('global/pg_control')) to stdout", '42501'],
        ["copy (select * from pg_ls_dir('.')) to stdout", '42501'],
        ["copy copy_target to '/tmp/out.tsv'", '42501'],
        ["copy copy_target from '/dev/blob'", '0A000'],
        ["copy copy_target to program 'id'", '42501'],
      ] as const) {
        client.send(wire.query(statement))
        expect([statement, errorCode(await client.until('Z'))]).toEqual([statement, code])
      }
      // COPY FROM STDIN with a WHERE that reads a file: the client's data goes, the backend refuses.
      client.send(wire.query("copy copy_target from stdin where pg_read_file('postgres.password') is not null"))
      expect((await client.until('G')).at(-1)!.type).toBe('G')
      client.send(Buffer.concat([Buffer.from('d'), Buffer.from([0, 0, 0, 8]), Buffer.from('x\t1\n')]), Buffer.from([0x63, 0, 0, 0, 4]))
      expect(errorCode(await client.until('Z'))).toBe('42501')
    } finally {
      client.end()
    }
    // As logins that may insert, so that the backend gets as far as reading COPY data: a COPY
    // FROM STDIN the recognizer takes for a COPY TO STDOUT (the comment hides it), and a second
    // COPY FROM STDIN in the same string, end with 57014 for want of data; neither traps the
    // engine (the first used to stop the whole service, for any login).
    for (const url of [urlAs('telemetry_service'), service.databaseUrl]) {
      const writer = await WireClient.connect(url)
      try {
        writer.send(wire.query('copy copy_target from/**/stdin -- to stdout'))
        expect(errorCode(await writer.until('Z'))).toBe('57014')
        writer.send(wire.query('copy copy_target from/**/stdin; copy copy_target from stdin'))
        await writer.until('G')
        writer.send(Buffer.concat([Buffer.from('d'), Buffer.from([0, 0, 0, 8]), Buffer.from('x\t1\n')]), Buffer.from([0x63, 0, 0, 0, 4]))
        expect(errorCode(await writer.until('Z'))).toBe('57014')
        writer.send(wire.query('select 1'))
        expect(dataRows(await writer.until('Z'))).toEqual([['1']])
      } finally {
        writer.end()
      }
    }
    expect((await fetch(`${service.baseUrl}/readyz`)).status).toBe(200)
    expect((await sql.query('select count(*)::int as n from copy_target')).rows[0].n).toBe(0)
  })
})

describe('telemetry_service loads what it may INSERT', () => {
  it('\\copy into a sample hypertable: rows stored and visible', async () => {
    const other = await addTestDevice(sql, 'copy-logins-in')
    expect((await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: other.token })).status).toBe(200)
    const before = await deviceRows(sql, other.id)
    for (const table of ['location_samples', 'activity_samples']) {
      const exported = await psql('telemetry_service', ['-c', `\\copy (select * from ${table} where device_id = ${other.id}) to '${file(`${table}.csv`)}' csv`])
      expect(exported.stderr).toBe('')
      await sql.query(`delete from ${table} where device_id = $1`, [other.id])
      const loaded = await psql('telemetry_service', ['-c', `\\copy ${table} from '${file(`${table}.csv`)}' csv`])
      expect(loaded.stderr).toBe('')
      expect(loaded.stdout).toMatch(/^COPY [1-9]/)
    }
    expect(await deviceRows(sql, other.id)).toEqual(before)
  })

  it('pg-copy-streams COPY FROM STDIN in binary, inside a transaction that rolls back and one that commits', async () => {
    const owner = await sqlClient(service.databaseUrl)
    const writer = await sqlClient(urlAs('telemetry_service'))
    try {
      const other = await addTestDevice(sql, 'copy-logins-bin')
      const rows = (time: string) => `select ${other.id}::int, i::bigint, '${time}'::timestamptz + i * interval '1 s', 0.5::float8, 0.25::float8, 1.0::float8 from generate_series(1, 100) i`
      const binary: Buffer[] = []
      for await (const chunk of owner.query(copyTo(`copy (${rows('2024-03-01')}) to stdout binary`))) binary.push(chunk as Buffer)
      expect(Buffer.concat(binary).subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0')
      for (const end of ['rollback', 'commit']) {
        await writer.query('begin')
        await pipeline(Readable.from(binary), writer.query(copyFrom('copy acceleration_samples (device_id, sample_id, time, x, y, z) from stdin binary')))
        await writer.query(end)
      }
      expect((await sql.query('select count(*)::int as n, sum(sample_id)::int as s from acceleration_samples where device_id = $1', [other.id])).rows[0]).toEqual({ n: 100, s: 5050 })
      // Into a table it may not write: 42501, the connection goes on.
      await expect(pipeline(Readable.from(['x\ty\n']), writer.query(copyFrom('copy devices (name, token_hash) from stdin')))).rejects.toMatchObject({ code: '42501' })
      expect((await writer.query('select 1 as n')).rows).toEqual([{ n: 1 }])
    } finally {
      await owner.end()
      await writer.end()
    }
  })

  it('a COPY stopped by its statement timeout leaves nothing stored and no privilege behind', async () => {
    const run = await psql('telemetry_service', ['-c', 'set statement_timeout = 300', '-c', "\\copy copy_target from stdin where pg_sleep(5) is not null"], 'x\t1\n')
    expect(run.stderr).toMatch(/canceling statement due to statement timeout/)
    const back = await psql('telemetry_service', ['-A', '-t', '-c', 'select current_user'])
    expect(back.stdout.trim()).toBe('telemetry_service')
    expect((await sql.query('select count(*)::int as n from copy_target')).rows[0].n).toBe(0)
  })
})
