// Stopping a statement that runs on the embedded database: a CancelRequest from real clients
// (psql's Ctrl-C, psycopg2's cancel, node-postgres) and the statement timeout, both of which
// reopen the engine (src/db/embedded/engine.ts). What users must see: 57014, the connection
// still usable, other sessions' settings and prepared statements intact, ingest going on and
// nothing committed lost.
import { spawn } from 'node:child_process'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addDevice } from '../src/db/devices.ts'
import { fixture } from './support/fixtures.ts'
import { sqlClient, upload } from './support/http.ts'
import { interactivePsql } from './support/psql.ts'
import { runToExit, startService, type RunningService } from './support/service.ts'

const STATEMENT_TIMEOUT_MS = 4000
/** Long enough never to end by itself in a test; only a cancel or a timeout ends it. */
const FOREVER = 'select pg_sleep(600)'
const CPU_BOUND = 'select count(*) from generate_series(1, 10000000000)'

let service: RunningService
let sql: pg.Client

beforeAll(async () => {
  service = await startService({ env: { EMBEDDED_STATEMENT_TIMEOUT: `${STATEMENT_TIMEOUT_MS}ms` } })
  sql = await sqlClient(service.databaseUrl)
})

afterAll(async () => {
  await sql?.end()
  expect(await service?.stop()).toBe(0)
})

/** How many times the service has reopened the engine to stop a statement, by reason. */
function reopenings(reason: 'user request' | 'statement timeout'): number {
  return service.output().split('\n').filter((line) => line.includes('reopened after stopping a statement') && line.includes(`"reason":"${reason}"`)).length
}

/** A Python script run to its end; its stdout. */
async function python(script: string, ...args: string[]): Promise<string> {
  const child = spawn('/usr/bin/python3', ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  await new Promise((resolve) => child.once('exit', resolve))
  return stdout
}

/**
 * Gives a statement just sent the time to reach the engine. Nothing shows from outside that it
 * runs (the engine is busy with it), so each test also checks, from the service's log, that the
 * cancel took the reopening path rather than dropping a statement still waiting its turn.
 */
const reachEngine = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 500))

/** node-postgres' own cancel: a second Client object sends the CancelRequest for the first's query (public, not in @types/pg). */
function cancelQuery(canceller: pg.Client, client: pg.Client): void {
  const cancel = (canceller as unknown as { cancel(client: pg.Client, query: unknown): void }).cancel.bind(canceller)
  cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery)
}

describe('a CancelRequest stops a running statement (57014) and the connection goes on', () => {
  it("psql's Ctrl-C during select pg_sleep(600); the database answers the next query", async () => {
    const before = reopenings('user request')
    // Until the Ctrl-C found the statement running (the service's own jobs may hold the engine
    // when psql sends it; a cancel then drops it from the queue, also with 57014).
    for (let attempt = 1; attempt <= 3 && reopenings('user request') === before; attempt++) {
      const child = spawn('psql', [service.databaseUrl, '-X', '-c', FOREVER], { stdio: ['ignore', 'pipe', 'pipe'] })
      const finished = runToExit(child)
      await reachEngine()
      child.kill('SIGINT')
      const { stderr } = await finished
      expect(stderr).toMatch(/ERROR: {2}canceling statement due to user request/)
      // A reopening is logged once it is over; the next statement waits for it.
      const next = await runToExit(spawn('psql', [service.databaseUrl, '-X', '-A', '-t', '-c', "select 'still here'"], { stdio: ['ignore', 'pipe', 'pipe'] }))
      expect(next.stdout.trim()).toBe('still here')
    }
    expect(reopenings('user request')).toBe(before + 1)
  })

  it('inside BEGIN: the transaction is aborted (25P02 until it ends), nothing of it stays, ROLLBACK ends it (node-postgres)', async () => {
    await sql.query('create table if not exists cancelled_inserts (n int)')
    const client = await sqlClient(service.databaseUrl)
    const canceller = new pg.Client(service.databaseUrl)
    try {
      const before = reopenings('user request')
      await client.query('begin')
      await client.query('insert into cancelled_inserts values (1)')
      const running = client.query(FOREVER)
      running.catch(() => undefined)
      await reachEngine()
      cancelQuery(canceller, client)
      await expect(running).rejects.toMatchObject({ code: '57014', message: 'canceling statement due to user request' })
      await expect(client.query('select 1')).rejects.toMatchObject({ code: '25P02' })
      await client.query('rollback')
      expect((await client.query('select count(*)::int as n from cancelled_inserts')).rows).toEqual([{ n: 0 }])
      await expect.poll(() => reopenings('user request'), { timeout: 30_000 }).toBe(before + 1)
    } finally {
      await client.end()
    }
  })

  it("psycopg2's connection.cancel() from another thread stops a CPU-bound count; the connection answers the next query", async () => {
    const script = `
import sys, threading, psycopg2
conn = psycopg2.connect(sys.argv[1])
conn.autocommit = True
cur = conn.cursor()
cur.execute("select 'connected'")
threading.Timer(0.5, conn.cancel).start()
try:
    cur.execute(sys.argv[2])
    print("ran")
except psycopg2.errors.QueryCanceled as error:
    print("cancelled", error.pgcode, str(error).strip())
cur.execute("select 40 + 2")
print("next", cur.fetchone()[0])
`
    const before = reopenings('user request')
    expect((await python(script, service.databaseUrl, CPU_BOUND)).split('\n')).toEqual(['cancelled 57014 canceling statement due to user request', 'next 42', ''])
    await expect.poll(() => reopenings('user request'), { timeout: 30_000 }).toBe(before + 1)
  })
})

describe('the statement timeout', () => {
  it('stops an outside client\'s statement after EMBEDDED_STATEMENT_TIMEOUT (node-postgres, pg_sleep)', async () => {
    const client = await sqlClient(service.databaseUrl)
    try {
      await expect(client.query(FOREVER)).rejects.toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' })
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    } finally {
      await client.end()
    }
  })

  it("a client's own lower statement_timeout applies too (a CPU-bound count)", async () => {
    const client = await sqlClient(service.databaseUrl)
    try {
      await client.query('set statement_timeout = 500')
      const started = Date.now()
      await expect(client.query(CPU_BOUND)).rejects.toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' })
      // Its own 500 ms, not the server's limit.
      expect(Date.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS)
      expect((await client.query('show statement_timeout')).rows).toEqual([{ statement_timeout: '500ms' }])
    } finally {
      await client.end()
    }
  })
})

describe('a reopening keeps everything else', () => {
  it('uploads sent while a reader runs are all answered 200 once it is stopped, and every committed sample is still there', async () => {
    const { device, token } = await addDevice(sql, 'cancel-ingest')
    const body = fixture('collection.bin')
    const send = () => upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token })
    expect((await send()).status).toBe(200)
    const count = async (): Promise<number> => Number((await sql.query('select (select count(*) from location_samples where device_id = $1) + (select count(*) from activity_samples where device_id = $1) + (select count(*) from acceleration_samples where device_id = $1) + (select count(*) from other_samples where device_id = $1) as n', [device.id])).rows[0].n)
    const committed = await count()
    expect(committed).toBeGreaterThan(0)

    const reader = await sqlClient(service.databaseUrl)
    const canceller = new pg.Client(service.databaseUrl)
    try {
      // Each upload a new device's, so each stores rows of its own.
      const others: Array<Awaited<ReturnType<typeof addDevice>>> = []
      for (let i = 0; i < 5; i++) others.push(await addDevice(sql, `cancel-ingest-${i}`))
      const before = reopenings('user request')
      const running = reader.query(FOREVER)
      running.catch(() => undefined)
      await reachEngine()
      const uploads = others.map(({ token: other }) => upload(service.baseUrl, body, { contentType: 'application/x-protobuf', token: other }))
      cancelQuery(canceller, reader)
      await expect(running).rejects.toMatchObject({ code: '57014', message: 'canceling statement due to user request' })
      await expect.poll(() => reopenings('user request'), { timeout: 30_000 }).toBe(before + 1)
      expect((await Promise.all(uploads)).map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200])
      expect(await count()).toBe(committed)
      for (const { device: other } of others) {
        expect(Number((await sql.query('select count(*) as n from location_samples where device_id = $1', [other.id])).rows[0].n)).toBeGreaterThan(0)
      }
      expect((await send()).status).toBe(200)
    } finally {
      await reader.end()
    }
  })

  it("other sessions keep their settings and prepared statements (psql SET, node-postgres named statements, psycopg2 PREPARE)", async () => {
    const psqlSession = interactivePsql(service.databaseUrl)
    const named = await sqlClient(service.databaseUrl)
    const script = `
import sys, psycopg2
conn = psycopg2.connect(sys.argv[1])
conn.autocommit = True
cur = conn.cursor()
cur.execute("prepare twice(int) as select $1 * 2")
cur.execute("set search_path = pg_catalog")
print("ready", flush=True)
sys.stdin.readline()
cur.execute("execute twice(21)")
print("prepared", cur.fetchone()[0])
cur.execute("show search_path")
print("search_path", cur.fetchone()[0])
`
    const child = spawn('/usr/bin/python3', ['-c', script, service.databaseUrl], { stdio: ['pipe', 'pipe', 'inherit'] })
    let pythonOut = ''
    child.stdout.on('data', (chunk: Buffer) => (pythonOut += chunk.toString()))
    const pythonExited = new Promise((resolve) => child.once('exit', resolve))
    try {
      psqlSession.send("set timezone = 'Asia/Tokyo';")
      psqlSession.send("select 'tz ' || current_setting('timezone');")
      await expect.poll(() => psqlSession.output.stdout, { timeout: 10_000 }).toMatch(/tz Asia\/Tokyo/)
      const double = { name: 'double-it', text: 'select $1::int * 2 as doubled' }
      expect((await named.query({ ...double, values: [1] })).rows).toEqual([{ doubled: 2 }])
      await expect.poll(() => pythonOut, { timeout: 10_000 }).toMatch(/ready/)

      const before = reopenings('statement timeout')
      const victim = await sqlClient(service.databaseUrl)
      await expect(victim.query(FOREVER)).rejects.toMatchObject({ code: '57014' })
      await victim.end()
      await expect.poll(() => reopenings('statement timeout'), { timeout: 30_000 }).toBe(before + 1)

      // node-postgres sends only Bind and Execute for a statement it prepared before.
      expect((await named.query({ ...double, values: [21] })).rows).toEqual([{ doubled: 42 }])
      psqlSession.send("select 'tz again ' || current_setting('timezone');")
      await expect.poll(() => psqlSession.output.stdout, { timeout: 30_000 }).toMatch(/tz again Asia\/Tokyo/)
      child.stdin.end('go\n')
      await pythonExited
      expect(pythonOut.split('\n')).toEqual(['ready', 'prepared 42', 'search_path pg_catalog', ''])
      expect((await sql.query('show timezone')).rows[0].TimeZone).not.toBe('Asia/Tokyo')
    } finally {
      child.kill()
      await named.end()
      await psqlSession.quit()
    }
  })
})
