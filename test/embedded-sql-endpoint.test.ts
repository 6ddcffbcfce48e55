// The embedded database's SQL port as PostgreSQL users meet it: real psql, node-postgres,
// psycopg2 and pgbench against the real service, while uploads go on. Each block below is one
// of the faults this endpoint once had (see docs/embedded-database.md, "The SQL endpoint").
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from './support/fixtures.ts'
import { deviceRows, sqlClient, upload, addTestDevice } from './support/http.ts'
import { interactivePsql } from './support/psql.ts'
import { runToExit, startService, temporaryDir, type RunningService, type Finished } from './support/service.ts'
import { dataRows, errorCode, message, wire, WireClient } from './support/wire-client.ts'

const IDLE_IN_TRANSACTION_MS = 2000
const MAX_MESSAGE_BYTES = 48 * 1024 * 1024
const READER_PASSWORD = 'reader pass word'

let service: RunningService
let sql: pg.Client
let scratch: string

beforeAll(async () => {
  service = await startService({
    env: { EMBEDDED_IDLE_IN_TRANSACTION_TIMEOUT: `${IDLE_IN_TRANSACTION_MS}ms`, EMBEDDED_PG_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) },
  })
  sql = await sqlClient(service.databaseUrl)
  await sql.query(`alter role telemetry_reader password '${READER_PASSWORD}'`)
  scratch = temporaryDir('sql-endpoint-')
})

afterAll(async () => {
  await sql?.end()
  expect(await service?.stop()).toBe(0)
  fs.rmSync(scratch, { recursive: true, force: true })
})

function urlAs(user: string, password: string): string {
  const url = new URL(service.databaseUrl)
  url.username = user
  url.password = encodeURIComponent(password)
  return url.toString()
}

/** psql with the given arguments (and stdin), run to its end. */
function psql(args: string[], input = '', url = service.databaseUrl): Promise<Finished> {
  const child = spawn('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const finished = runToExit(child)
  child.stdin.end(input)
  return finished
}

const newDevice = () => addTestDevice(sql, 'sql-endpoint')

async function uploadFixture(device: { token: string }): Promise<number> {
  return (await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: device.token })).status
}

async function readyz(): Promise<number> {
  return (await fetch(`${service.baseUrl}/readyz`)).status
}

describe('logins: SCRAM-SHA-256, a password for postgres, roles with their own privileges', () => {
  it('refuses a wrong password and an unknown user (anyone:wrongpw used to be superuser)', async () => {
    for (const url of [urlAs('anyone', 'wrongpw'), urlAs('postgres', 'wrongpw'), urlAs('telemetry_reader', 'wrongpw')]) {
      const run = await psql(['-c', 'select 1'], '', url)
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/password authentication failed/)
    }
  })

  it('keeps the generated password in DATA_DIR/postgres.password, readable by its owner only, and never logs it', () => {
    const file = path.join(service.dataDir, 'postgres.password')
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    const password = fs.readFileSync(file, 'utf8').trim()
    expect(password.length).toBeGreaterThanOrEqual(24)
    expect(service.output()).not.toContain(password)
  })

  it('telemetry_reader has exactly its privileges: it reads samples, its INSERT fails with 42501', async () => {
    const reader = await sqlClient(urlAs('telemetry_reader', READER_PASSWORD))
    try {
      expect((await reader.query('select current_user, session_user')).rows[0]).toEqual({ current_user: 'telemetry_reader', session_user: 'telemetry_reader' })
      await reader.query('select count(*) from location_samples')
      await expect(reader.query("insert into devices (name, token_hash) values ('x', 'y')")).rejects.toMatchObject({ code: '42501' })
      await expect(reader.query('select token_hash from devices')).rejects.toMatchObject({ code: '42501' })
      await expect(reader.query('set session authorization postgres')).rejects.toMatchObject({ code: '42501' })
      await expect(reader.query("select set_config('session_authorization', 'postgres', false)")).rejects.toMatchObject({ code: '42501' })
      await expect(reader.query("do $$ begin execute 'set session ' || 'authorization postgres'; end $$")).rejects.toMatchObject({ code: '42501' })
      expect((await reader.query('select rolsuper from pg_roles where rolname = current_user')).rows[0].rolsuper).toBe(false)
    } finally {
      await reader.end()
    }
  })
})

describe('session isolation: no client changes another session, or ingest', () => {
  it('SETs and SET ROLE in psql stay in that psql session; uploads go on (they used to answer 503)', async () => {
    const device = await newDevice()
    const session = interactivePsql(service.databaseUrl)
    try {
      session.send("set default_transaction_read_only = on; set role telemetry_reader; set timezone = 'Asia/Tokyo';")
      session.send("select 'ready';")
      await expect.poll(() => session.output.stdout, { timeout: 10_000 }).toMatch(/ready/)
      expect(await uploadFixture(device)).toBe(200)
      expect(await readyz()).toBe(200)
      expect((await sql.query('select current_user, current_setting($1) as ro, current_setting($2) as tz', ['default_transaction_read_only', 'timezone'])).rows[0]).toMatchObject({
        current_user: 'postgres',
        ro: 'off',
      })
      // ...and the psql session still has all three.
      session.send("select current_user || ' ' || current_setting('default_transaction_read_only') || ' ' || current_setting('timezone');")
      await expect.poll(() => session.output.stdout, { timeout: 10_000 }).toMatch(/telemetry_reader on Asia\/Tokyo/)
    } finally {
      await session.quit()
    }
  })

  it('keeps a SET that is prepared in one exchange and executed in a later one in its session', async () => {
    const client = await WireClient.connect(service.databaseUrl)
    try {
      client.send(wire.parse('setter', 'set default_transaction_read_only = on'), wire.sync())
      await client.until('Z')
      client.send(wire.bind('', 'setter'), wire.execute(''), wire.sync())
      expect(errorCode(await client.until('Z'))).toBeUndefined()
      expect(await uploadFixture(await newDevice())).toBe(200)
      expect((await sql.query("select current_setting('default_transaction_read_only') as ro")).rows).toEqual([{ ro: 'off' }])
      client.send(wire.query("select current_setting('default_transaction_read_only')"))
      expect(dataRows(await client.until('Z'))).toEqual([['on']])
    } finally {
      client.end()
    }
  })

  it("keeps each connection's unnamed prepared statement its own (A used to get B's columns)", async () => {
    const a = await WireClient.connect(service.databaseUrl)
    const b = await WireClient.connect(service.databaseUrl)
    try {
      a.send(wire.parse('', "select 'from A' as a"), wire.describeStatement(''), wire.sync())
      await a.until('Z')
      b.send(wire.parse('', "select 'from B' as b, 2 as n"), wire.bind('', ''), wire.execute(''), wire.sync())
      expect(dataRows(await b.until('Z'))).toEqual([['from B', '2']])
      a.send(wire.bind('', ''), wire.execute(''), wire.sync())
      expect(dataRows(await a.until('Z'))).toEqual([['from A']])
    } finally {
      a.end()
      b.end()
    }
  })

  it('keeps named prepared statements of the same name apart (node-postgres)', async () => {
    const one = await sqlClient(service.databaseUrl)
    const two = await sqlClient(service.databaseUrl)
    try {
      expect((await one.query({ name: 'same', text: 'select 1 as n' })).rows).toEqual([{ n: 1 }])
      expect((await two.query({ name: 'same', text: "select 'two' as n" })).rows).toEqual([{ n: 'two' }])
      expect((await one.query({ name: 'same', text: 'select 1 as n' })).rows).toEqual([{ n: 1 }])
    } finally {
      await one.end()
      await two.end()
    }
  })
})

describe('transactions', () => {
  it('ends psql idle in a transaction at the timeout although psql never reads (it used to hold everyone)', async () => {
    const session = interactivePsql(service.databaseUrl)
    try {
      session.send("begin; select 'in transaction';")
      await expect.poll(() => session.output.stdout, { timeout: 10_000 }).toMatch(/in transaction/)
      const started = Date.now()
      const other = await sqlClient(service.databaseUrl)
      await other.query('select 1')
      await other.end()
      expect(Date.now() - started).toBeLessThan(IDLE_IN_TRANSACTION_MS + 3000)
      // The next thing typed at the prompt meets the FATAL the server already sent.
      session.send('select 1;')
      await expect.poll(() => session.output.stderr, { timeout: 10_000 }).toMatch(/idle-in-transaction timeout/)
    } finally {
      await session.quit()
    }
  })
})

describe('COPY', () => {
  it('\\copy from stdin no longer kills the database; uploads and /readyz stay fine', async () => {
    const run = await psql(['-c', 'create table copy_stdin(a text, b text)', '-c', '\\copy copy_stdin from stdin'], 'a\tb\nc\td\n')
    expect(run.stderr).toBe('')
    expect(run.stdout).toContain('COPY 2')
    expect((await sql.query('select a, b from copy_stdin order by a')).rows).toEqual([
      { a: 'a', b: 'b' },
      { a: 'c', b: 'd' },
    ])
    expect(await uploadFixture(await newDevice())).toBe(200)
    expect(await readyz()).toBe(200)
  })

  it('\\copy to and from files on a plain table, csv with a header', async () => {
    const file = path.join(scratch, 'plain.csv')
    await sql.query("create table copy_plain(id int, note text); insert into copy_plain select i, 'note ' || i from generate_series(1, 500) i")
    const out = await psql(['-c', `\\copy copy_plain to '${file}' csv header`])
    expect(out.stdout).toContain('COPY 500')
    expect(fs.readFileSync(file, 'utf8').split('\n')[1]).toBe('1,note 1')
    await sql.query('create table copy_plain_again (like copy_plain)')
    const back = await psql(['-c', `\\copy copy_plain_again from '${file}' csv header`])
    expect(back.stdout).toContain('COPY 500')
    expect((await sql.query('select count(*)::int as n, sum(id)::int as s from copy_plain_again')).rows[0]).toEqual({ n: 500, s: 125250 })
  })

  it('\\copy a device out of the sample hypertables and back in, while uploads go on', async () => {
    const device = await newDevice()
    expect(await uploadFixture(device)).toBe(200)
    const before = await deviceRows(sql, device.id)
    const tables = ['location_samples', 'activity_samples', 'acceleration_samples', 'other_samples']
    const uploads = (async () => {
      const other = await newDevice()
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push(await uploadFixture(other))
      return statuses
    })()
    for (const table of tables) {
      const file = path.join(scratch, `${table}.tsv`)
      const out = await psql(['-c', `\\copy (select * from ${table} where device_id = ${device.id}) to '${file}'`])
      expect(out.code).toBe(0)
      await sql.query(`delete from ${table} where device_id = $1`, [device.id])
      const back = await psql(['-c', `\\copy ${table} from '${file}'`])
      expect(back.code).toBe(0)
    }
    expect(await deviceRows(sql, device.id)).toEqual(before)
    expect(before.length).toBeGreaterThan(0)
    expect(await uploads).toEqual([200, 200, 200, 200, 200])
  })

  it('refuses a COPY FROM STDIN it cannot run safely instead of handing it to the engine', async () => {
    const run = await psql(['-c', 'select 1; copy copy_stdin from stdin'], 'x\ty\n')
    expect(run.stderr).toMatch(/must be sent on their own/)
    expect(await readyz()).toBe(200)
  })
})

describe('a robust protocol', () => {
  it('answers SSLRequest and GSSENCRequest with "no" (psql with sslmode/gssencmode prefer connects)', async () => {
    const url = new URL(service.databaseUrl)
    url.searchParams.set('sslmode', 'prefer')
    url.searchParams.set('gssencmode', 'prefer')
    const run = await psql(['-A', '-t', '-c', 'select 42'], '', url.toString())
    expect(run.stdout.trim()).toBe('42')
  })

  it('ends a connection that declares an oversized message at its header, with 54000; others carry on', async () => {
    const client = await WireClient.connect(service.databaseUrl)
    const header = Buffer.alloc(5)
    header.write('Q')
    header.writeInt32BE(64 * 1024 * 1024, 1)
    client.send(header, Buffer.alloc(1000))
    expect(errorCode(await client.closedByServer())).toBe('54000')
    expect((await sql.query('select 1 as n')).rows).toEqual([{ n: 1 }])
  })

  it('frames a large message in linear time: /healthz stays quick while a client sends 40 MiB (it took seconds)', async () => {
    const client = await WireClient.connect(service.databaseUrl)
    const size = 40 * 1024 * 1024
    const header = Buffer.alloc(5)
    header.write('Q')
    header.writeInt32BE(size + 4, 1)
    client.send(header)
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sending = true
    const sent = (async () => {
      // All but the last chunk: framing is measured, the statement itself never runs.
      for (let offset = 0; offset + chunk.length < size; offset += chunk.length) {
        if (!client.socket.write(chunk)) await new Promise((resolve) => client.socket.once('drain', resolve))
      }
      sending = false
    })()
    const latencies: number[] = []
    while (sending) {
      const started = performance.now()
      expect((await fetch(`${service.baseUrl}/healthz`)).status).toBe(200)
      latencies.push(performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await sent
    client.socket.destroy()
    expect(latencies.length).toBeGreaterThan(3)
    expect(Math.max(...latencies)).toBeLessThan(1000)
    expect((await sql.query('select 1 as n')).rows).toEqual([{ n: 1 }])
  })

  it('stops reading a connection whose work waits for its turn (the kernel holds what it sends ahead)', async () => {
    const holder = await sqlClient(service.databaseUrl)
    await holder.query('begin')
    const client = await WireClient.connect(service.databaseUrl)
    try {
      // 32 MiB of queries, sent while another session's transaction holds the backend.
      const query = wire.query(`select 1 -- ${'x'.repeat(64 * 1024)}`)
      for (let i = 0; i < 512; i++) client.socket.write(query)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      // Loopback socket buffers take a few MiB; the rest stays with the sender, unread.
      expect(client.socket.writableLength).toBeGreaterThan(16 * 1024 * 1024)
    } finally {
      client.socket.destroy()
      await holder.query('rollback')
      await holder.end()
    }
  })

  it('runs a 4 MiB message', async () => {
    const text = 'x'.repeat(4 * 1024 * 1024)
    const result = await sql.query(`select length('${text}') as n`)
    expect(result.rows[0].n).toBe(text.length)
  })

  it('survives random and mutated protocol messages: the process stays up, other sessions are unaffected', async () => {
    const valid = [wire.query('select 1'), wire.parse('s', 'select $1::int'), wire.bind('', 's'), wire.execute(''), wire.sync(), message('H'), message('d', 'x'), message('c')]
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.constantFrom(...valid), { maxLength: 6 }).map((messages) => new Uint8Array(Buffer.concat(messages))),
      fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([original, at, value]) => {
        const mutated = Buffer.from(original)
        mutated[at % mutated.length] = value
        return new Uint8Array(mutated)
      }),
    )
    const bystander = await sqlClient(service.databaseUrl)
    await bystander.query("set application_name = 'bystander'")
    try {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), bytes, async (loggedIn, payload) => {
          const client = loggedIn ? await WireClient.connect(service.databaseUrl) : await WireClient.open(service.databaseUrl)
          client.send(Buffer.from(payload))
          // Give the server the bytes, then leave (a client that vanishes mid-message too).
          await new Promise((resolve) => setTimeout(resolve, 20))
          client.socket.destroy()
          expect((await bystander.query("select current_setting('application_name') as name")).rows).toEqual([{ name: 'bystander' }])
        }),
        { numRuns: 60 },
      )
    } finally {
      await bystander.end()
    }
    expect(await readyz()).toBe(200)
    expect(await uploadFixture(await newDevice())).toBe(200)
  })
})

describe('cancel', () => {
  /**
   * Another client holds the backend in an open transaction and keeps it busy (so the
   * idle-in-transaction timeout does not end it): any other statement waits its turn.
   */
  async function holdBackend(): Promise<() => Promise<void>> {
    const holder = await sqlClient(service.databaseUrl)
    await holder.query('begin')
    const keepBusy = setInterval(() => void holder.query('select 1').catch(() => undefined), 300)
    return async () => {
      clearInterval(keepBusy)
      await holder.query('rollback').catch(() => undefined)
      await holder.end()
    }
  }

  it("psql's Ctrl-C cancels its statement while it waits for its turn (57014)", async () => {
    const session = interactivePsql(service.databaseUrl)
    session.send("select 'connected';")
    await expect.poll(() => session.output.stdout, { timeout: 10_000 }).toMatch(/connected/)
    const release = await holdBackend()
    try {
      session.send("select 'should not run';")
      await new Promise((resolve) => setTimeout(resolve, 300))
      session.child.kill('SIGINT')
      await expect.poll(() => session.output.stderr, { timeout: 1500 }).toMatch(/canceling statement due to user request/)
      expect(session.output.stdout).not.toMatch(/should not run/)
    } finally {
      await release()
      await session.quit()
    }
  })

  it("node-postgres' cancel and psycopg2's connection.cancel() do the same", async () => {
    const victim = await sqlClient(service.databaseUrl)
    const release = await holdBackend()
    try {
      const waiting = victim.query("select 'should not run'")
      await new Promise((resolve) => setTimeout(resolve, 300))
      const canceller = new pg.Client(service.databaseUrl)
      // node-postgres' own API: a second Client object sends the CancelRequest for the first.
      // (Public, but not in @types/pg.)
      const cancel = (canceller as unknown as { cancel(client: pg.Client, query: unknown): void }).cancel.bind(canceller)
      cancel(victim, (victim as unknown as { activeQuery: unknown }).activeQuery)
      await expect(waiting).rejects.toMatchObject({ code: '57014' })

      const script = `
import sys, threading, psycopg2
conn = psycopg2.connect(sys.argv[1])
threading.Timer(0.3, conn.cancel).start()
try:
    conn.cursor().execute("select 'should not run'")
    print("ran")
except psycopg2.errors.QueryCanceled as error:
    print("cancelled", error.pgcode)
`
      const child = spawn('/usr/bin/python3', ['-c', script, service.databaseUrl], { stdio: ['ignore', 'pipe', 'inherit'] })
      let stdout = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      await new Promise((resolve) => child.once('exit', resolve))
      expect(stdout.trim()).toBe('cancelled 57014')
    } finally {
      await release()
      await victim.end()
    }
  })
})

describe('other real clients', () => {
  it('psql \\d describes the sample tables', async () => {
    const run = await psql(['-c', '\\d location_samples'])
    expect(run.stdout).toMatch(/Table "public.location_samples"/)
    expect(run.stdout).toMatch(/device_id/)
  })

  it('psycopg2: parameters, server-side prepared statements, a named cursor, copy_expert both ways, a reader refused', async () => {
    const script = `
import io, sys, psycopg2
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor()
cur.execute("select %s::int + 1, %s", (41, "text"))
print("params", cur.fetchone())
cur.execute("prepare twice(int) as select $1 * 2")
cur.execute("execute twice(%s)", (21,))
print("prepared", cur.fetchone()[0])
named = conn.cursor("server_side")
named.execute("select i from generate_series(1, 1000) i")
print("named", len(named.fetchmany(300)), len(named.fetchall()))
named.close()
cur.execute("create table py_copy(a int, b text)")
cur.copy_expert("copy py_copy from stdin", io.StringIO("1\\tone\\n2\\ttwo\\n"))
out = io.StringIO()
cur.copy_expert("copy py_copy to stdout", out)
print("copy", repr(out.getvalue()))
conn.commit()
reader = psycopg2.connect(sys.argv[2])
try:
    reader.cursor().execute("insert into py_copy values (3, 'three')")
except psycopg2.Error as error:
    print("reader", error.pgcode)
`
    const child = spawn('/usr/bin/python3', ['-c', script, service.databaseUrl, urlAs('telemetry_reader', READER_PASSWORD)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout.split('\n')).toEqual(["params (42, 'text')", 'prepared 42', 'named 300 700', "copy '1\\tone\\n2\\ttwo\\n'", 'reader 42501', ''])
  })

  it('pgbench: four clients with a custom script for 30 s while uploads run, every upload 200', async () => {
    const device = await newDevice()
    expect(await uploadFixture(device)).toBe(200)
    const script = path.join(scratch, 'bench.sql')
    fs.writeFileSync(
      script,
      `\\set id random(1, 1000000)
select count(*) from location_samples where device_id = ${device.id};
select :id::bigint * 2;
`,
    )
    const url = new URL(service.databaseUrl)
    const bench = spawn(
      '/usr/lib/postgresql/15/bin/pgbench',
      ['-n', '-c', '4', '-j', '2', '-T', '30', '-f', script, '-h', url.hostname, '-p', url.port, '-U', 'postgres', 'postgres'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) } },
    )
    let output = ''
    bench.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    bench.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const finished = new Promise<number | null>((resolve) => bench.once('exit', resolve))
    const statuses: number[] = []
    const uploader = await newDevice()
    while (bench.exitCode === null) {
      statuses.push(await uploadFixture(uploader))
      await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 200))])
    }
    expect(await finished).toBe(0)
    expect(output).toMatch(/number of failed transactions: 0/)
    expect(Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1])).toBeGreaterThan(20)
    expect(statuses.length).toBeGreaterThan(5)
    expect(statuses.every((status) => status === 200)).toBe(true)
  })
})

describe('listening beyond loopback', () => {
  it('is refused without a password the operator set', async () => {
    const dataDir = temporaryDir()
    try {
      await expect(startService({ dataDir, env: { EMBEDDED_PG_HOST: '0.0.0.0' }, timeoutMs: 30_000 })).rejects.toThrow(/EMBEDDED_PG_PASSWORD/)
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('works with the password the operator set, and then writes no password file', async () => {
    const password = "operator's p@ss/word"
    const other = await startService({ env: { EMBEDDED_PG_HOST: '0.0.0.0', EMBEDDED_PG_PASSWORD: password } })
    try {
      expect(fs.existsSync(path.join(other.dataDir, 'postgres.password'))).toBe(false)
      expect(decodeURIComponent(new URL(other.databaseUrl).password)).toBe(password)
      const client = await sqlClient(other.databaseUrl)
      expect((await client.query('select current_user')).rows).toEqual([{ current_user: 'postgres' }])
      await client.end()
      expect(other.output()).not.toContain(password)
    } finally {
      expect(await other.stop()).toBe(0)
      fs.rmSync(other.dataDir, { recursive: true, force: true })
    }
  })
})
