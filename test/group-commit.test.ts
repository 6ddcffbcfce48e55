// Group commit: concurrent uploads share one transaction and its commit, and each one still
// stands alone: a bad upload in a group is refused with nothing of it stored, while the
// others of the group are committed and answered 200. On the real service and its embedded
// TimescaleDB; the writer is also driven directly on that database, where the test decides
// which uploads form a group.
import Long from 'long'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTENT_TYPES, decodeSamples, type SampleBatch } from '../src/codec/index.ts'
import { AccelerationType, LocationType, SampleCollectionType, TYPE_URL_PREFIX } from '../src/codec/proto.ts'
import { copyIn } from '../src/db/copy-in.ts'
import { createPool, withClient, type Pool } from '../src/db/pool.ts'
import { writeGroup, writeSamples } from '../src/db/sample-writer.ts'
import { createLogger } from '../src/logger.ts'
import { startService, type RunningService } from './support/service.ts'
import { sqlClient, upload, addTestDevice } from './support/http.ts'

let service: RunningService
let sql: pg.Client
let pool: Pool

beforeAll(async () => {
  service = await startService()
  sql = await sqlClient(service.databaseUrl)
  pool = createPool(service.databaseUrl, { dbPoolSize: 4, dbConnectTimeoutMs: 10_000 }, createLogger({ logLevel: 'warn' }))
})

afterAll(async () => {
  await pool?.end()
  await sql?.end()
  expect(await service?.stop()).toBe(0)
})

const newDevice = () => addTestDevice(sql, 'group-commit')

// An hour ago: newer than COMPRESS_ACCELERATION_AFTER, so the job runner's compression policy
// leaves the chunks as they are and transactionsOf reads the rows' xmin where the writer put
// them (a compressed chunk holds its rows elsewhere, with the compressing transaction's xmin).
const START_SECONDS = Math.floor(Date.now() / 3_600_000) * 3600 - 3600

/** A SampleCollection of `count` samples with ids from `firstId`, 20 ms apart. */
function collection(firstId: number, count: number, kind: 'acceleration' | 'location' = 'acceleration', latitude = 48.85): Uint8Array {
  const samples = Array.from({ length: count }, (_, index) => {
    const id = firstId + index
    const data =
      kind === 'acceleration'
        ? { type_url: `${TYPE_URL_PREFIX}Acceleration`, value: AccelerationType.encode({ x: 0.1, y: 0.2, z: 1 }).finish() }
        : { type_url: `${TYPE_URL_PREFIX}Location`, value: LocationType.encode({ latitude, longitude: 2.35 }).finish() }
    return { id: Long.fromNumber(id), data, timestamp: { seconds: START_SECONDS + Math.floor(id / 50), nanos: (id % 50) * 20_000_000 } }
  })
  return SampleCollectionType.encode({ samples }).finish()
}

function batch(body: Uint8Array): SampleBatch {
  return decodeSamples('collection', body)
}

async function storedIds(deviceId: number): Promise<number[]> {
  const result = await sql.query<{ id: string }>(
    `select sample_id::text as id from acceleration_samples where device_id = $1
     union all select sample_id::text from location_samples where device_id = $1 order by 1`,
    [deviceId],
  )
  return result.rows.map((row) => Number(row.id)).sort((a, b) => a - b)
}

/** How many transactions wrote the device's acceleration rows (xmin, read from the chunks). */
async function transactionsOf(deviceId: number): Promise<number> {
  const chunks = await sql.query<{ chunk: string }>(`select show_chunks('acceleration_samples')::text as chunk`)
  const xmins = new Set<string>()
  for (const { chunk } of chunks.rows) {
    const rows = await sql.query<{ xmin: string }>(`select distinct xmin::text as xmin from only ${chunk} where device_id = $1`, [deviceId])
    for (const row of rows.rows) xmins.add(row.xmin)
  }
  return xmins.size
}

function ids(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => first + index)
}

/**
 * Holds the embedded engine with an open transaction of another session while `start` sends
 * uploads, until `arrived` says they all wait in the service; then lets them go, so they
 * pile up in the writer and go as groups.
 */
async function holdingTheDatabase<T>(start: () => Promise<T>, arrived: () => Promise<boolean> = async () => true): Promise<T> {
  await sql.query('begin')
  await sql.query('select 1')
  let pending: Promise<T>
  try {
    pending = start()
    pending.catch(() => undefined)
    while (!(await arrived())) await new Promise((resolve) => setImmediate(resolve))
  } finally {
    await sql.query('commit')
  }
  return pending
}

/** Uploads the service has admitted and not yet answered. */
async function uploadsInFlight(): Promise<number> {
  const exposition = await (await fetch(service.metricsUrl)).text()
  const line = exposition.split('\n').find((text) => text.startsWith('telemetry_uploads_in_flight '))
  return Number(line?.split(' ')[1] ?? 0)
}

describe('the writer', () => {
  it('commits the good uploads of a group, takes the bad one back alone, and counts duplicates', async () => {
    const device = await newDevice()
    await writeSamples(pool, device.id, batch(collection(1, 10)))

    // The third upload breaks the table's own check constraint on latitude: a failure of the
    // database, for that one upload only.
    const uploads = [
      { deviceId: device.id, batch: batch(collection(100, 50)) },
      { deviceId: device.id, batch: batch(collection(200, 5, 'location', 48)) },
      { deviceId: device.id, batch: batch(collection(300, 5, 'location')) },
      { deviceId: device.id, batch: batch(collection(6, 10)) },
    ]
    // The codec refuses such a latitude, so it is set in the decoded columns.
    uploads[2]!.batch.location.latitudes.fill(95)

    const settled = await writeGroup(pool, uploads)
    expect(settled[0]).toEqual({ ok: true, value: { location: 0, activity: 0, acceleration: 50, other: 0 } })
    expect(settled[1]).toEqual({ ok: true, value: { location: 5, activity: 0, acceleration: 0, other: 0 } })
    expect(settled[2]!.ok).toBe(false)
    expect((settled[2] as { error: { code: string } }).error.code).toBe('23514')
    // Ids 6..15: 6..10 were stored before (duplicates), 11..15 are new.
    expect(settled[3]).toEqual({ ok: true, value: { location: 0, activity: 0, acceleration: 5, other: 0 } })

    expect(await storedIds(device.id)).toEqual([...ids(1, 15), ...ids(100, 50), ...ids(200, 5)].sort((a, b) => a - b))
  })

  it('puts uploads that arrive while the database is busy into one transaction', async () => {
    const device = await newDevice()
    const uploads = 20
    // writeSamples hands its upload to the writer before it returns: all of them wait there.
    const answers = await holdingTheDatabase(() => Promise.all(ids(0, uploads).map((index) => writeSamples(pool, device.id, batch(collection(index * 100, 100))))))
    expect(answers.every((stored) => stored.acceleration === 100)).toBe(true)
    expect(await storedIds(device.id)).toHaveLength(uploads * 100)
    // Rows of one transaction carry its id: the first upload started a group on arrival,
    // the other 19 waited for it and went together.
    expect(await transactionsOf(device.id)).toBe(2)
  })

  it('reports no upload of a group stored before the shared commit: when the commit fails, none of the group is', async () => {
    const device = await newDevice()
    // A rule checked only at COMMIT (a deferred constraint trigger): every COPY and INSERT of
    // the group succeeds, and the group's commit is what fails.
    await sql.query(`create function group_commit_test_refuse() returns trigger language plpgsql as $$
      begin
        if new.sample_id = 777777 then raise exception 'sample 777777 refused at commit' using errcode = '23514'; end if;
        return null;
      end $$`)
    await sql.query(`create constraint trigger group_commit_test_at_commit after insert on acceleration_samples
      deferrable initially deferred for each row execute function group_commit_test_refuse()`)
    try {
      // The first upload starts a group of its own at once; the other nine wait for it and go
      // together, the one holding sample 777777 among them.
      const settled = await holdingTheDatabase(() =>
        Promise.allSettled([...ids(0, 9).map((index) => writeSamples(pool, device.id, batch(collection(10_000 + index * 100, 100)))), writeSamples(pool, device.id, batch(collection(777_700, 100)))]),
      )
      expect(settled[0]).toEqual({ status: 'fulfilled', value: { location: 0, activity: 0, acceleration: 100, other: 0 } })
      for (const result of settled.slice(1)) {
        expect(result.status).toBe('rejected')
        expect((result as PromiseRejectedResult).reason.code).toBe('23514')
      }
      expect(await storedIds(device.id)).toEqual(ids(10_000, 100))
    } finally {
      await sql.query('drop trigger group_commit_test_at_commit on acceleration_samples')
      await sql.query('drop function group_commit_test_refuse()')
    }
  })
})

describe("the writer's COPY, sent with its data (copy-in.ts)", () => {
  const onConnection = <T>(work: (client: pg.PoolClient) => Promise<T>) => withClient(pool, work)

  it('copies rows given in several CopyData messages and answers their count', async () => {
    await sql.query('create table copy_in_probe (n integer not null)')
    try {
      const copied = await onConnection((client) => copyIn(client, 'copy copy_in_probe from stdin', [Buffer.from('1\n2\n'), Buffer.from('3\n')]))
      expect(copied).toBe(3)
      expect((await sql.query('select array_agg(n order by n) as n from copy_in_probe')).rows[0].n).toEqual([1, 2, 3])
    } finally {
      await sql.query('drop table copy_in_probe')
    }
  })

  it('a COPY refused before its data fails with the SQLSTATE, and the data sent ahead is dropped, not run', async () => {
    await onConnection(async (client) => {
      // Were the data read as messages of their own, this one would be a query.
      const ahead = Buffer.from('select 1\n')
      await expect(copyIn(client, 'copy no_such_table from stdin', [ahead])).rejects.toMatchObject({ code: '42P01' })
      expect((await client.query('select 2 as next')).rows).toEqual([{ next: 2 }])
    })
  })

  it('bad COPY data fails with the SQLSTATE, nothing of it stored, and the connection serves the next query', async () => {
    await sql.query('create table copy_in_probe (n integer not null)')
    try {
      await onConnection(async (client) => {
        await expect(copyIn(client, 'copy copy_in_probe from stdin', [Buffer.from('1\nnot a number\n')])).rejects.toMatchObject({ code: '22P02' })
        expect((await client.query('select count(*)::int as rows from copy_in_probe')).rows).toEqual([{ rows: 0 }])
      })
    } finally {
      await sql.query('drop table copy_in_probe')
    }
  })
})

describe('the service', () => {
  it('answers 200 to the good uploads of a group and refuses the bad one with nothing stored', async () => {
    const device = await newDevice()
    // A rule only the database knows, so the service accepts the upload and the insert fails.
    await sql.query('alter table acceleration_samples add constraint group_commit_test_rule check (sample_id <> 666666)')
    try {
      const bodies = [...ids(0, 9).map((index) => collection(1_000_000 + index * 100, 100)), collection(666_600, 100)]
      const answers = await holdingTheDatabase(
        () => Promise.all(bodies.map((body) => upload(service.baseUrl, body, { contentType: CONTENT_TYPES.collection, token: device.token }))),
        async () => (await uploadsInFlight()) === bodies.length,
      )
      expect(answers.slice(0, 9).map((answer) => answer.status)).toEqual(Array(9).fill(200))
      for (const answer of answers.slice(0, 9)) expect(answer.body).toMatchObject({ accepted: 100, duplicates: 0 })
      // Not a transient fault: 500 (a retry would fail the same way while the rule holds).
      expect(answers[9]!.status).toBe(500)
      expect(answers[9]!.body.error.code).toBe('internal_error')
      expect(answers[9]!.body.error.message).toContain('nothing was stored')
      expect(await storedIds(device.id)).toEqual(ids(0, 9).flatMap((index) => ids(1_000_000 + index * 100, 100)))
    } finally {
      await sql.query('alter table acceleration_samples drop constraint group_commit_test_rule')
    }

    // The refused upload, sent again now, is stored whole.
    const retry = await upload(service.baseUrl, collection(666_600, 100), { contentType: CONTENT_TYPES.collection, token: device.token })
    expect(retry.body).toMatchObject({ accepted: 100, duplicates: 0 })
  })
})
