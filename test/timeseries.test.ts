// Continuous aggregates, compression and the storage policies, on the real service and its
// embedded TimescaleDB: samples go in through the upload endpoint, and what a user reads back
// (aggregates, raw rows, upload answers, policy jobs) is what is checked.
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { sqlClient } from './support/http.ts'
import { startService, temporaryDir, type RunningService } from './support/service.ts'
import { startDatabaseProcess } from './support/database-process.ts'
import { freePort } from './support/prometheus.ts'
import { addDevice } from '../src/db/devices.ts'

const SECOND = 1000
const HOUR = 3600 * SECOND
// Thirty days ago, on the hour: older than COMPRESS_AFTER (7 days), so the compression policy
// applies, and younger than the RETAIN_RAW the policy test sets (400 days), so it is kept.
const START = Math.floor((Date.now() - 30 * 24 * HOUR) / HOUR) * HOUR

function line(id: number, time: number, data: Record<string, unknown>): string {
  return JSON.stringify({ id: String(id), data, timestamp: new Date(time).toISOString() })
}

/** 2 minutes of the three kinds: 50 Hz acceleration, activity every 10 s, location every 30 s. */
function samplesBody(): string {
  const lines: string[] = []
  for (let i = 0; i < 6000; i++) {
    lines.push(line(1_000_000 + i, START + i * 20, { '@type': 'type.googleapis.com/Acceleration', x: 0.01 * (i % 7), y: -0.02, z: 1 + 0.001 * (i % 13) }))
  }
  for (let i = 0; i < 12; i++) {
    lines.push(line(2_000 + i, START + i * 10 * SECOND, { '@type': 'type.googleapis.com/Activity', walking: i % 3 === 0, stationary: i % 3 !== 0 }))
  }
  for (let i = 0; i < 4; i++) {
    lines.push(line(3_000 + i, START + i * 30 * SECOND, { '@type': 'type.googleapis.com/Location', latitude: 48.85 + i * 0.01, longitude: 2.35 }))
  }
  return lines.join('\n') + '\n'
}

async function upload(service: Pick<RunningService, 'baseUrl' | 'token'>, body: string): Promise<{ accepted: number; duplicates: number }> {
  const response = await fetch(`${service.baseUrl}/v1/samples`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/x-ndjson' },
    body,
  })
  expect(response.status).toBe(200)
  return (await response.json()) as { accepted: number; duplicates: number }
}

// What a dashboard reads: every aggregate, in a stable order.
const AGGREGATE_QUERIES = [
  'select bucket, sample_count from location_samples_per_minute order by bucket',
  'select bucket, sample_count from location_samples_per_hour order by bucket',
  'select bucket, sample_count, walking_count, stationary_count from activity_samples_per_minute order by bucket',
  'select bucket, sample_count, walking_share, stationary_share, running_share from activity_share_per_hour order by bucket',
  'select bucket, sample_count, magnitude_min, magnitude_avg, magnitude_max from acceleration_per_minute order by bucket',
  'select bucket, sample_count, magnitude_min, magnitude_avg, magnitude_max from acceleration_per_hour order by bucket',
  'select time, sample_id, x, y, z from acceleration_samples order by time desc limit 50',
  'select count(*), sum(x::numeric), max(z) from acceleration_samples', // numeric: a float sum depends on row order
  'select * from activity_samples_with_location order by time',
]

async function readAll(db: pg.Client): Promise<unknown[][]> {
  const results: unknown[][] = []
  for (const sql of AGGREGATE_QUERIES) results.push((await db.query(sql)).rows)
  return results
}

async function policyJobs(db: pg.Client): Promise<Record<string, string>> {
  const result = await db.query<{ relation: string; proc_name: string; age: string }>(
    `select hypertable_name as relation, proc_name, coalesce(config ->> 'compress_after', config ->> 'drop_after') as age
     from timescaledb_information.jobs where proc_name in ('policy_compression', 'policy_retention')`,
  )
  return Object.fromEntries(result.rows.map((row) => [`${row.relation} ${row.proc_name}`, row.age]))
}

const SAMPLE_TABLES = ['acceleration_samples', 'activity_samples', 'location_samples', 'other_samples']

describe('continuous aggregates and compression', () => {
  let service: RunningService
  let db: pg.Client

  beforeAll(async () => {
    service = await startService()
    db = await sqlClient(service.databaseUrl)
    // A database made before sql/032: the samples go in under sql/003's descending keys, so
    // the test below can migrate chunks compressed under them.
    for (const table of SAMPLE_TABLES) {
      await db.query(`drop index ${table}_device_time_sample; create unique index ${table}_device_time_id on ${table} (device_id, time desc, sample_id)`)
    }
    expect(await upload(service, samplesBody())).toMatchObject({ accepted: 6016, duplicates: 0 })
  }, 120_000)

  afterAll(async () => {
    await db?.end()
    await service?.stop()
  })

  it('aggregates per minute and per hour match the raw samples', async () => {
    const perMinute = await db.query('select bucket, sample_count::int from acceleration_per_minute order by bucket')
    expect(perMinute.rows.map((row) => row.sample_count)).toEqual([3000, 3000])
    const perHour = await db.query('select sample_count::int, magnitude_min, magnitude_max, magnitude_avg from acceleration_per_hour')
    const raw = await db.query('select min(sqrt(x*x+y*y+z*z)), max(sqrt(x*x+y*y+z*z)), avg(sqrt(x*x+y*y+z*z)) from acceleration_samples')
    expect(perHour.rows[0].sample_count).toBe(6000)
    expect(perHour.rows[0].magnitude_min).toBeCloseTo(raw.rows[0].min, 12)
    expect(perHour.rows[0].magnitude_max).toBeCloseTo(raw.rows[0].max, 12)
    expect(perHour.rows[0].magnitude_avg).toBeCloseTo(raw.rows[0].avg, 12)
    const activity = await db.query('select sample_count::int, walking_share, stationary_share from activity_share_per_hour')
    expect(activity.rows[0]).toEqual({ sample_count: 12, walking_share: 4 / 12, stationary_share: 8 / 12 })
    const locations = await db.query('select sum(sample_count)::int as samples from location_samples_per_minute')
    expect(locations.rows[0].samples).toBe(4)
  })

  it('returns identical results after its chunks are compressed, and takes late uploads into them', async () => {
    // Materialize the aggregates first (as the job runner does), so both the materialized and
    // the real-time part of each view are read before and after.
    for (const view of ['location_samples_per_minute', 'activity_samples_per_minute', 'acceleration_per_minute']) {
      await db.query(`call refresh_continuous_aggregate('${view}', null, null)`)
    }
    const before = await readAll(db)
    const compressed = await db.query(
      `select count(compress_chunk(chunk)) as chunks from (
         select show_chunks(t) as chunk from unnest(array['location_samples', 'activity_samples', 'acceleration_samples']::regclass[]) t) c`,
    )
    expect(Number(compressed.rows[0].chunks)).toBeGreaterThanOrEqual(3)
    const uncompressed = await db.query("select count(*)::int as n from timescaledb_information.chunks where not is_compressed and hypertable_name <> 'other_samples' and hypertable_schema = 'public'")
    expect(uncompressed.rows[0].n).toBe(0)
    expect(await readAll(db)).toEqual(before)

    // sql/032 on compressed chunks: the keys become ascending, and they still hold (below).
    await db.query(fs.readFileSync('sql/032_ascending_sample_keys.sql', 'utf8'))
    const keys = await db.query("select indexdef from pg_indexes where schemaname = 'public' and tablename = any($1) and indexdef like '%UNIQUE%' order by tablename", [SAMPLE_TABLES])
    expect(keys.rows.map((row) => row.indexdef.replace(/^.* USING /, ''))).toEqual(SAMPLE_TABLES.map(() => 'btree (device_id, "time", sample_id)'))
    expect(await readAll(db)).toEqual(before)

    // A retried upload into compressed chunks: all duplicates, nothing stored twice.
    expect(await upload(service, samplesBody())).toMatchObject({ accepted: 0, duplicates: 6016 })
    // A late sample for the same minutes: stored, and counted by the aggregates at once.
    const late = line(9_000_001, START + 30 * SECOND + 5, { '@type': 'type.googleapis.com/Acceleration', z: 1 })
    expect(await upload(service, late + '\n')).toMatchObject({ accepted: 1, duplicates: 0 })
    const count = await db.query('select count(*)::int as n from acceleration_samples')
    expect(count.rows[0].n).toBe(6001)
    await db.query("call refresh_continuous_aggregate('acceleration_per_minute', null, null)")
    const perMinute = await db.query('select sample_count::int from acceleration_per_minute order by bucket')
    expect(perMinute.rows.map((row) => row.sample_count)).toEqual([3001, 3000])
  })
})

describe('storage policies from configuration', () => {
  const dataDir = temporaryDir()

  it('adds compression by default, applies changed ages on restart, and the job runner compresses old chunks', async () => {
    const first = await startService({ dataDir })
    const db1 = await sqlClient(first.databaseUrl)
    try {
      expect(await policyJobs(db1)).toEqual({
        'location_samples policy_compression': '7 days',
        'activity_samples policy_compression': '7 days',
        'acceleration_samples policy_compression': '12:00:00',
        'other_samples policy_compression': '7 days',
      })
      await upload(first, samplesBody())
      // And two recent locations, inside the refresh policies' 7-day window.
      const recent = [line(4_001, Date.now() - 10 * 60 * SECOND, { '@type': 'type.googleapis.com/Location', latitude: 1, longitude: 2 }),
        line(4_002, Date.now() - 5 * 60 * SECOND, { '@type': 'type.googleapis.com/Location', latitude: 1.01, longitude: 2 })]
      expect(await upload(first, recent.join('\n') + '\n')).toMatchObject({ accepted: 2 })
    } finally {
      await db1.end()
      expect(await first.stop()).toBe(0)
    }

    const second = await startService({ dataDir, env: { COMPRESS_AFTER: '2d', COMPRESS_ACCELERATION_AFTER: '3h', RETAIN_RAW: '400d', RETAIN_AGGREGATES: '800d' } })
    const db2 = await sqlClient(second.databaseUrl)
    try {
      const jobs = await policyJobs(db2)
      expect(jobs['location_samples policy_compression']).toBe('2 days')
      expect(jobs['acceleration_samples policy_compression']).toBe('03:00:00')
      expect(jobs['acceleration_samples policy_retention']).toBe('400 days')
      expect(jobs['acceleration_per_hour policy_retention']).toBe('800 days')
      expect(Object.keys(jobs)).toHaveLength(4 * 2 + 7) // 4 tables: compression and retention; 7 aggregates: retention
      // Nothing runs TimescaleDB's jobs in the embedded build but the service: at start it
      // runs every job once, so the month-old chunks are compressed by now (or very soon). (The
      // first start ran them before the upload, and the compression jobs' next turn is hours
      // away: their schedule follows the compression age.)
      await expect.poll(async () => {
        const result = await db2.query("select count(*)::int as n from timescaledb_information.chunks where hypertable_name = 'acceleration_samples' and is_compressed")
        return result.rows[0].n
      }, { timeout: 90_000, interval: 500 }).toBeGreaterThan(0)
      // Only chunks past their compression age: the two recent locations' chunk is not.
      const recentChunks = await db2.query("select count(*)::int as n from timescaledb_information.chunks where is_compressed and range_end > now() - interval '1 day'")
      expect(recentChunks.rows[0].n).toBe(0)
      // ... and the refresh jobs have materialized the recent minutes, and the backfill job
      // the month-old ones (outside the policies' 7-day window: docs/sql-and-time-series.md).
      const table = await materializationTable(db2, 'location_samples_per_minute')
      await expect.poll(async () => {
        const result = await db2.query(`select count(*)::int as n from _timescaledb_internal.${table}`)
        return result.rows[0].n
      }, { timeout: 90_000, interval: 500 }).toBe(2 + 2)
    } finally {
      await db2.end()
      expect(await second.stop()).toBe(0)
    }

    // Raw data kept for less than the aggregates' refresh window would empty them: refused.
    const refused = await startService({ dataDir, env: { RETAIN_RAW: '3d' } }).then(
      async (service) => { await service.stop(); return '' },
      (error: Error) => error.message,
    )
    expect(refused).toContain('RETAIN_RAW (3 days) must be longer than the continuous aggregates\' refresh window')
  }, 240_000)
})

async function materializationTable(db: pg.Client, view: string): Promise<string> {
  const result = await db.query(
    'select materialization_hypertable_name as name from timescaledb_information.continuous_aggregates where view_name = $1',
    [view],
  )
  return result.rows[0].name as string
}

// Late data: samples that arrive after the aggregates have moved past their time (a phone
// offline for a month, an import of last year) are counted by every aggregate, through the
// backfill bookkeeping of each upload (sql/021, sql/022) and the job that refreshes it: in
// the service's embedded database (its job runner runs the job), and through DATABASE_URL
// in a database process of its own (`npm run db`, whose job runner stands in for a server's
// scheduler: the service leaves TimescaleDB's jobs to the database there).
interface Backfilled {
  uploads: Pick<RunningService, 'baseUrl' | 'token'>
  databaseUrl: string
  deviceName: string
  stop(): Promise<void>
}

const BACKFILL_SETUPS: { name: string; start(): Promise<Backfilled> }[] = [
  {
    name: 'embedded',
    async start() {
      const service = await startService()
      return { uploads: service, databaseUrl: service.databaseUrl, deviceName: 'local', stop: async () => void (await service.stop()) }
    },
  },
  {
    name: 'through DATABASE_URL',
    async start() {
      const dataDir = temporaryDir()
      const database = await startDatabaseProcess({ dataDir, port: await freePort() })
      const owner = await sqlClient(database.url)
      const { token } = await addDevice(owner, 'phone').finally(() => owner.end())
      const service = await startService({ env: { DATABASE_URL: database.url } })
      return {
        uploads: { baseUrl: service.baseUrl, token },
        databaseUrl: database.url,
        deviceName: 'phone',
        async stop() {
          await service.stop()
          await database.stop()
          fs.rmSync(dataDir, { recursive: true, force: true })
        },
      }
    },
  },
]

describe.each(BACKFILL_SETUPS)('continuous aggregates after backfills ($name)', (setup) => {
  const DAY = 24 * HOUR
  // Every aggregate, bucket by bucket, against the same buckets counted from the raw rows.
  const VIEWS = [
    { view: 'location_samples_per_minute', table: 'location_samples', bucket: '1 minute' },
    { view: 'location_samples_per_hour', table: 'location_samples', bucket: '1 hour' },
    { view: 'activity_samples_per_minute', table: 'activity_samples', bucket: '1 minute' },
    { view: 'activity_share_per_hour', table: 'activity_samples', bucket: '1 hour' },
    { view: 'acceleration_per_minute', table: 'acceleration_samples', bucket: '1 minute' },
    { view: 'acceleration_per_hour', table: 'acceleration_samples', bucket: '1 hour' },
  ]
  let backfilled: Backfilled
  let service: Pick<RunningService, 'baseUrl' | 'token'>
  let db: pg.Client

  /** Ten seconds of each kind from `start` (ms), with ids from `firstId`. */
  function burst(start: number, firstId: number): string {
    const lines: string[] = []
    for (let i = 0; i < 500; i++) lines.push(line(firstId + i, start + i * 20, { '@type': 'type.googleapis.com/Acceleration', z: 1 }))
    for (let i = 0; i < 5; i++) lines.push(line(firstId + 1000 + i, start + i * 2 * SECOND, { '@type': 'type.googleapis.com/Activity', walking: true }))
    for (let i = 0; i < 3; i++) lines.push(line(firstId + 2000 + i, start + i * 3 * SECOND, { '@type': 'type.googleapis.com/Location', latitude: 10, longitude: 20 }))
    return lines.join('\n') + '\n'
  }

  /** Per view: buckets whose count differs from the raw rows' count (none when complete). */
  async function mismatches(): Promise<Record<string, number>> {
    const found: Record<string, number> = {}
    for (const { view, table, bucket } of VIEWS) {
      const result = await db.query<{ n: number }>(
        `select count(*)::int as n from (
           select time_bucket('${bucket}', time) as bucket, count(*) as sample_count from ${table} group by 1) raw
         full join ${view} agg using (bucket)
         where raw.sample_count is distinct from agg.sample_count`,
      )
      found[view] = result.rows[0]!.n
    }
    return found
  }

  const complete = Object.fromEntries(VIEWS.map(({ view }) => [view, 0]))

  /** Runs the refresh policies now, as the scheduler would within minutes: the watermarks move up to now. */
  async function runRefreshPolicies(): Promise<void> {
    const jobs = await db.query<{ job_id: number }>("select job_id from timescaledb_information.jobs where proc_name = 'policy_refresh_continuous_aggregate' order by job_id")
    for (const { job_id } of jobs.rows) await db.query('call run_job($1)', [job_id])
  }

  beforeAll(async () => {
    backfilled = await setup.start()
    service = backfilled.uploads
    db = await sqlClient(backfilled.databaseUrl)
  }, 180_000)

  afterAll(async () => {
    await db?.end()
    await backfilled?.stop()
  })

  it('counts recent data, then a month-old upload, then a year-old one, in every aggregate', async () => {
    const now = Math.floor(Date.now() / HOUR) * HOUR - HOUR
    expect(await upload(service, burst(now, 1_000_000))).toMatchObject({ accepted: 508 })
    await runRefreshPolicies()
    expect(await mismatches()).toEqual(complete)

    // A month late: older than the refresh policies' window and their watermarks. The job
    // runner runs the backfill job within a minute.
    expect(await upload(service, burst(now - 30 * DAY, 2_000_000))).toMatchObject({ accepted: 508 })
    expect(Number((await db.query('select count(*) from aggregate_backfill_ranges')).rows[0].count)).toBeGreaterThan(0)
    await expect.poll(mismatches, { timeout: 90_000, interval: 1000 }).toEqual(complete)
    await runRefreshPolicies()
    expect(await mismatches()).toEqual(complete)

    // A year late, after the month-old chunks were compressed.
    await db.query("select compress_chunk(c) from show_chunks('acceleration_samples', older_than => interval '7 days') c")
    expect(await upload(service, burst(now - 365 * DAY, 3_000_000))).toMatchObject({ accepted: 508 })
    await expect.poll(mismatches, { timeout: 90_000, interval: 1000 }).toEqual(complete)
    await runRefreshPolicies()
    expect(await mismatches()).toEqual(complete)
    const total = await db.query('select sum(sample_count)::int as n from acceleration_per_hour')
    expect(total.rows[0].n).toBe(1500)
    expect(Number((await db.query('select count(*) from aggregate_backfill_ranges')).rows[0].count)).toBe(0)
  }, 300_000)

  it('shares time, not samples, among activity states: a state holds until the next, at most 2 hours', async () => {
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 2 * DAY
    const MINUTE = 60 * SECOND
    const states: [number, string][] = [[0, 'stationary'], [10, 'walking'], [40, 'stationary'], [70, 'running']]
    const body = states.map(([minute, state], i) => line(5_000_000 + i, t0 + minute * MINUTE, { '@type': 'type.googleapis.com/Activity', [state]: true })).join('\n') + '\n'
    expect(await upload(service, body)).toMatchObject({ accepted: 4 })
    await db.query("call refresh_continuous_aggregate('activity_state_per_minute', $1::timestamptz, $2::timestamptz)", [new Date(t0 - 3 * HOUR), new Date(t0 + 5 * HOUR)])
    const result = await db.query(
      `select extract(epoch from observed)::int as observed_s, round(stationary_share::numeric, 6)::float8 as stationary,
              round(walking_share::numeric, 6)::float8 as walking, round(running_share::numeric, 6)::float8 as running
       from activity_time_shares((select id from devices where name = $1), $2, $3, '1 hour')`,
      [backfilled.deviceName, new Date(t0), new Date(t0 + 4 * HOUR)],
    )
    // Running from minute 70 holds for 2 hours (until minute 190): nothing reported after it.
    expect(result.rows).toEqual([
      { observed_s: 3600, stationary: 0.5, walking: 0.5, running: 0 },
      { observed_s: 3600, stationary: Number((1 / 6).toFixed(6)), walking: 0, running: Number((5 / 6).toFixed(6)) },
      { observed_s: 3600, stationary: 0, walking: 0, running: 1 },
      { observed_s: 600, stationary: 0, walking: 0, running: 1 },
    ])
  })

  it('keeps each device\'s newest sample time per kind, which a backfill does not move back', async () => {
    const result = await db.query<{ kind: string; last: Date }>(
      "select kind, last_sample_time as last from device_last_seen join devices d on d.id = device_id where d.name = $1 order by kind",
      [backfilled.deviceName],
    )
    expect(result.rows.map((row) => row.kind)).toEqual(['acceleration', 'activity', 'location'])
    // The recent burst's newest sample of each kind, although a month-old and a year-old upload came after it.
    for (const row of result.rows) {
      const newest = await db.query<{ last: Date }>(`select max(time) as last from ${row.kind}_samples`)
      expect(row.last, row.kind).toEqual(newest.rows[0]!.last)
      expect(Date.now() - row.last.getTime(), row.kind).toBeLessThan(3 * HOUR)
    }
  })
})
