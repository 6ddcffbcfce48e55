// What an upload is told when the database fails: 503 + Retry-After only when a retry can
// succeed, 500 with a request id when it cannot, and "may or may not be stored, a retry is
// safe" when the connection broke during COMMIT. The failures are real: a trigger on the
// hypertable raises the SQLSTATE under test, and a TCP proxy between the service and its
// database server cuts the connection at the COMMIT.
import { once } from 'node:events'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from './support/fixtures.ts'
import { sqlClient, upload } from './support/http.ts'
import { startService, type RunningService } from './support/service.ts'

let server: RunningService

beforeAll(async () => {
  server = await startService()
  const sql = await sqlClient(server.databaseUrl)
  await sql.query(`
    create table induced_failure (sqlstate text);
    create function fail_as_told() returns trigger language plpgsql as $$
    declare told text;
    begin
      select sqlstate into told from induced_failure limit 1;
      if told is not null then raise exception 'induced failure %', told using errcode = told; end if;
      return new;
    end $$;
    create trigger fail_as_told before insert on location_samples for each row execute function fail_as_told();`)
  await sql.end()
})

afterAll(async () => {
  await server?.stop()
})

async function failWith(sqlstate: string | null): Promise<void> {
  const sql = await sqlClient(server.databaseUrl)
  await sql.query('delete from induced_failure')
  if (sqlstate) await sql.query('insert into induced_failure values ($1)', [sqlstate])
  await sql.end()
}

/** The service's log line holding `text`, once the service has written it. */
async function logLine(service: RunningService, text: string): Promise<string> {
  const find = () => service.output().split('\n').find((line) => line.includes(text))
  while (find() === undefined) await once(service.process.stdout!, 'data')
  return find()!
}

const uploadCollection = (baseUrl: string) => upload(baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: server.token })

describe('database errors', () => {
  it.each([
    ['40P01', 'deadlock'],
    ['40001', 'serialization failure'],
    ['53300', 'too many connections'],
    ['57P01', 'admin shutdown'],
    ['08006', 'connection failure'],
  ])('SQLSTATE %s (%s) is transient: 503 database_unavailable with Retry-After', async (sqlstate) => {
    await failWith(sqlstate)
    const answer = await uploadCollection(server.baseUrl)
    expect(answer.status).toBe(503)
    expect(answer.body.error.code).toBe('database_unavailable')
    expect(answer.headers.get('retry-after')).toMatch(/^\d+$/)
  })

  it.each([
    ['P0001', 'raise_exception'],
    ['23514', 'check violation'],
    ['42501', 'insufficient privilege'],
  ])('SQLSTATE %s (%s) would fail again: 500 with the request id that finds it in the log, no Retry-After', async (sqlstate) => {
    await failWith(sqlstate)
    const answer = await uploadCollection(server.baseUrl)
    expect(answer.status).toBe(500)
    expect(answer.headers.get('retry-after')).toBeNull()
    const requestId = answer.headers.get('x-request-id')
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(answer.body.error).toMatchObject({ code: 'internal_error', details: { requestId } })
    expect(answer.body.error.message).toContain(`request id ${requestId}`)
    expect(await logLine(server, `"requestId":"${requestId}"`)).toContain(`induced failure ${sqlstate}`)
  })

  it('after the failure is gone, the same upload is stored', async () => {
    await failWith(null)
    const answer = await uploadCollection(server.baseUrl)
    expect(answer.status).toBe(200)
    expect(answer.body.accepted + answer.body.duplicates).toBe(6)
  })
})

describe('the connection breaks during COMMIT', () => {
  let service: RunningService
  let proxy: net.Server
  let cutAtNextCommit = false
  // A simple-protocol Query message: 'Q', its length (4 + 7), "commit\0", as node-postgres sends it.
  const COMMIT = Buffer.from('Q\0\0\0\x0bcommit\0', 'latin1')

  beforeAll(async () => {
    const target = new URL(server.databaseUrl)
    proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname)
      client.on('data', (chunk: Buffer) => {
        if (cutAtNextCommit && chunk.includes(COMMIT)) {
          cutAtNextCommit = false
          client.destroy()
          upstream.destroy()
          return
        }
        upstream.write(chunk)
      })
      upstream.pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
    })
    proxy.listen(0, '127.0.0.1')
    await once(proxy, 'listening')
    const url = new URL(server.databaseUrl)
    url.port = String((proxy.address() as net.AddressInfo).port)
    service = await startService({ env: { DATABASE_URL: url.href } })
  })

  afterAll(async () => {
    await service?.stop()
    proxy?.close()
  })

  it('answers 503 commit_outcome_unknown, saying a retry is safe; the retry stores the upload once', async () => {
    // Both services share the devices table: the first one's local token works on the second.
    const token = server.token
    const body = fixture('delimited.bin')
    cutAtNextCommit = true
    const cut = await upload(service.baseUrl, body, { contentType: 'application/octet-stream', token })
    expect(cut.status).toBe(503)
    expect(cut.body.error.code).toBe('commit_outcome_unknown')
    expect(cut.body.error.message).toMatch(/may or may not be stored; sending it again is safe/)
    expect(cut.headers.get('retry-after')).toMatch(/^\d+$/)

    const retried = await upload(service.baseUrl, body, { contentType: 'application/octet-stream', token })
    expect(retried.status).toBe(200)
    expect(retried.body.accepted + retried.body.duplicates).toBe(6)
  })
})
