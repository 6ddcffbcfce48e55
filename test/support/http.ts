// Small helpers for talking to the real service in tests.
import { once } from 'node:events'
import http from 'node:http'
import pg from 'pg'
import { addDevice } from '../../src/db/devices.ts'

export interface Answer {
  status: number
  headers: Headers
  body: any // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of the service, asserted by each test
}

export async function upload(
  baseUrl: string,
  body: Uint8Array | string,
  options: { contentType: string; token?: string; encoding?: string; path?: string },
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': options.contentType }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.encoding) headers['content-encoding'] = options.encoding
  const response = await fetch(`${baseUrl}${options.path ?? '/v1/samples'}`, { method: 'POST', headers, body })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
}

/** A connected pg client; the caller ends it. */
export async function sqlClient(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client(databaseUrl)
  client.on('error', () => {
    // Tests that cut connections on purpose look at the query results, not at this event.
  })
  await client.connect()
  return client
}

/** Rows of one device in all four sample tables, as exact text (ids, microsecond times). */
export async function deviceRows(client: pg.Client, deviceId: number): Promise<Record<string, unknown>[]> {
  const result = await client.query(
    `select 'location' as kind, sample_id::text as id, (extract(epoch from time) * 1000000)::bigint::text as micros,
            jsonb_build_object('latitude', latitude, 'longitude', longitude) as fields
       from location_samples where device_id = $1
     union all
     select 'activity', sample_id::text, (extract(epoch from time) * 1000000)::bigint::text,
            jsonb_build_object('unknown', unknown, 'stationary', stationary, 'walking', walking, 'running', running)
       from activity_samples where device_id = $1
     union all
     select 'acceleration', sample_id::text, (extract(epoch from time) * 1000000)::bigint::text,
            jsonb_build_object('x', x, 'y', y, 'z', z)
       from acceleration_samples where device_id = $1
     union all
     select 'other', sample_id::text, (extract(epoch from time) * 1000000)::bigint::text,
            jsonb_build_object('type_url', type_url, 'payload_hex', encode(payload, 'hex'))
       from other_samples where device_id = $1
     order by id`,
    [deviceId],
  )
  return result.rows
}

/** An upload that announces its body with `Expect: 100-continue` and sends it only when told. */
export interface PendingUpload {
  /** Resolves when the service asked for the body (100 Continue): the upload is in its route. */
  inRoute: Promise<void>
  sendBody(): void
  answer: Promise<{ status: number; connection: string | undefined; text: string }>
  /** Whether the service sent 100 Continue (asked for the body). */
  continued(): boolean
}

export function pendingUpload(port: number, token: string, body: Buffer, agent?: http.Agent, headers: Record<string, string | number> = {}): PendingUpload {
  const request = http.request({
    host: '127.0.0.1',
    port,
    path: '/v1/samples',
    method: 'POST',
    agent,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-protobuf', 'content-length': body.length, expect: '100-continue', ...headers },
  })
  let continued = false
  const inRoute = once(request, 'continue').then(() => {
    continued = true
  })
  const answer = new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
    request.once('response', (response) => {
      let text = ''
      response.on('data', (chunk: Buffer) => (text += chunk.toString()))
      response.once('end', () => resolve({ status: response.statusCode!, connection: response.headers.connection, text }))
    })
    request.once('error', reject)
  })
  inRoute.catch(() => {}) // a refused request never continues; its error is the answer's
  request.flushHeaders()
  let sent = false
  // A final answer before 100 Continue: the body is never sent, the request is over.
  answer.then(() => sent || request.destroy(), () => {})
  return {
    inRoute,
    sendBody: () => {
      sent = true
      request.end(body)
    },
    answer,
    continued: () => continued,
  }
}

let devicesAdded = 0
/** A fresh device (and its token) for one test, so tests never see each other's rows. */
export async function addTestDevice(sql: pg.Client, prefix: string): Promise<{ id: number; token: string }> {
  const { device, token } = await addDevice(sql, `${prefix}-${++devicesAdded}`)
  return { id: device.id, token }
}
