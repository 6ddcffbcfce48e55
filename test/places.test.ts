// places(): a known home/work/gym schedule, written as location samples the way a phone's
// significant-change updates would arrive, must come back as exactly those three places, in
// order of time spent, with the time spent there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { sqlClient } from './support/http.ts'
import { startService, type RunningService } from './support/service.ts'
import { distanceMeters } from '../src/sim/geo.ts'
import { formatSampleLine, generateSamples, groundTruth, type SimulationOptions } from '../src/sim/index.ts'

const HOME = { latitude: 48.8566, longitude: 2.3522 }
const WORK = { latitude: 48.8925, longitude: 2.2369 } // 9 km west-north-west of home
const GYM = { latitude: 48.8437, longitude: 2.3797 } // 2.4 km east-south-east of home
type Point = typeof HOME

const DEVICE_ID = 4242
const PERIOD_START = Date.parse('2024-03-04T00:00:00Z') // a Monday
const DAYS = 14
const MINUTE = 60_000
const HOUR = 60 * MINUTE

interface LocationRow { time: number; latitude: number; longitude: number }

/** A deterministic ±40 m wobble, as GPS fixes at the same place do. */
function near(point: Point, seed: number): Point {
  const metres = 40
  const dLat = (Math.sin(seed * 12.9898) * metres) / 111_320
  const dLon = (Math.cos(seed * 78.233) * metres) / (111_320 * Math.cos((point.latitude * Math.PI) / 180))
  return { latitude: point.latitude + dLat, longitude: point.longitude + dLon }
}

/**
 * One day of the schedule, as significant-change samples: an arrival sample at each place,
 * a wobble sample every 3 hours while there, and a sample every 2 minutes along the way
 * between places from the departure on (never within 300 m of either end). Returns the time spent at each place.
 */
function buildSchedule(): { rows: LocationRow[]; expectedMs: Map<Point, number> } {
  const rows: LocationRow[] = []
  const expectedMs = new Map<Point, number>([[HOME, 0], [WORK, 0], [GYM, 0]])
  let seed = 1
  const stay = (place: Point, from: number, to: number) => {
    for (let t = from; t < to; t += 3 * HOUR) rows.push({ time: t, ...near(place, seed++) })
    const counted = Math.min(to, PERIOD_START + DAYS * 24 * HOUR) - Math.max(from, PERIOD_START)
    if (counted > 0) expectedMs.set(place, expectedMs.get(place)! + counted)
  }
  const travel = (from: Point, to: Point, start: number, end: number) => {
    const steps = Math.round((end - start) / (2 * MINUTE))
    for (let i = 0; i < steps; i++) {
      const f = 0.2 + (0.6 * i) / steps // stay clear of both ends
      rows.push({
        time: start + i * 2 * MINUTE,
        latitude: from.latitude + (to.latitude - from.latitude) * f,
        longitude: from.longitude + (to.longitude - from.longitude) * f,
      })
    }
  }
  // The evening before the period: the device is at home when the period starts.
  stay(HOME, PERIOD_START - 4 * HOUR, PERIOD_START)
  for (let day = 0; day < DAYS; day++) {
    const midnight = PERIOD_START + day * 24 * HOUR
    const at = (h: number, m = 0) => midnight + h * HOUR + m * MINUTE
    const weekday = day % 7 // 0 = Monday
    if (weekday < 5) {
      stay(HOME, at(0), at(8))
      travel(HOME, WORK, at(8), at(8, 30))
      stay(WORK, at(8, 30), at(17, 30))
      if (weekday % 2 === 0) {
        // Monday, Wednesday, Friday: the gym on the way home.
        travel(WORK, GYM, at(17, 30), at(18))
        stay(GYM, at(18), at(19, 30))
        travel(GYM, HOME, at(19, 30), at(19, 40))
        stay(HOME, at(19, 40), at(24))
      } else {
        travel(WORK, HOME, at(17, 30), at(18))
        stay(HOME, at(18), at(24))
      }
    } else if (weekday === 5) {
      stay(HOME, at(0), at(10))
      travel(HOME, GYM, at(10), at(10, 10))
      stay(GYM, at(10, 10), at(12))
      travel(GYM, HOME, at(12), at(12, 10))
      stay(HOME, at(12, 10), at(24))
    } else {
      stay(HOME, at(0), at(24))
    }
  }
  // After the period: the next morning's departure ends the last stay at home.
  travel(HOME, WORK, PERIOD_START + DAYS * 24 * HOUR + 8 * HOUR, PERIOD_START + DAYS * 24 * HOUR + 8.5 * HOUR)
  return { rows, expectedMs }
}

describe('places()', () => {
  let service: RunningService
  let db: pg.Client
  const { rows, expectedMs } = buildSchedule()

  beforeAll(async () => {
    service = await startService()
    db = await sqlClient(service.databaseUrl)
    // The point here is the SQL, so the samples go in with SQL (one statement, like the writer).
    await db.query(
      `insert into location_samples (time, device_id, sample_id, latitude, longitude)
       select to_timestamp(t / 1000.0), $4, id, lat, lon
       from unnest($1::float8[], $2::float8[], $3::float8[]) with ordinality as u(t, lat, lon, id)`,
      [rows.map((r) => r.time), rows.map((r) => r.latitude), rows.map((r) => r.longitude), DEVICE_ID],
    )
    // The phone reports its activity every 20 minutes all along: it is never silent, so every
    // location holds until the next one (places() ends a span only when the device goes quiet).
    await db.query(
      `insert into activity_samples (time, device_id, sample_id, unknown, stationary, walking, running)
       select t, $3, (extract(epoch from t) / 60)::bigint, false, true, false, false
       from generate_series($1::timestamptz, $2::timestamptz, interval '20 minutes') t`,
      [new Date(PERIOD_START - 4 * HOUR), new Date(PERIOD_START + (DAYS * 24 + 9) * HOUR), DEVICE_ID],
    )
  }, 120_000)

  afterAll(async () => {
    await db?.end()
    await service?.stop()
  })

  const period = [new Date(PERIOD_START), new Date(PERIOD_START + DAYS * 24 * HOUR)]

  it('finds home, work and the gym, in order of time spent, with their dwell times', async () => {
    await db.query("set timezone = 'UTC'")
    const result = await db.query(
      `select place, latitude, longitude, extract(epoch from dwell) * 1000 as dwell_ms, period_share,
              visits, first_seen, last_seen, typical_hours
       from places($1, $2, $3)`,
      [DEVICE_ID, ...period],
    )
    expect(result.rows.map((row) => row.place)).toEqual([1, 2, 3])
    const expected = [HOME, WORK, GYM]
    result.rows.forEach((row, i) => {
      const place = expected[i]!
      expect(Math.abs(row.latitude - place.latitude)).toBeLessThan(0.0005) // ~50 m
      expect(Math.abs(row.longitude - place.longitude)).toBeLessThan(0.0008)
      const dwellMs = Number(row.dwell_ms)
      expect(Math.abs(dwellMs - expectedMs.get(place)!) / expectedMs.get(place)!).toBeLessThan(0.03)
      expect(row.period_share).toBeCloseTo(dwellMs / (DAYS * 24 * HOUR), 6)
    })
    // Home: the period starts there, then one return per weekday evening and per Saturday gym trip.
    expect(result.rows.map((row) => row.visits)).toEqual([1 + 10 + 2, 10, 6 + 2])
    // Home is where the nights are; work is office hours; the gym is early evening.
    expect(result.rows[0].typical_hours).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 23]))
    expect(result.rows[1].typical_hours).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17])
    expect(result.rows[2].typical_hours).toEqual([18, 19])
    expect(result.rows[1].first_seen).toEqual(new Date(PERIOD_START + 8.5 * HOUR))
  })

  it('counts none of the way between places as a place', async () => {
    const result = await db.query('select count(*)::int as places from places($1, $2, $3)', [DEVICE_ID, ...period])
    expect(result.rows[0].places).toBe(3)
  })

  it('answers the location of the device at a given time and its last known location', async () => {
    // Wednesday 12:00: at work.
    const at = await db.query('select latitude, longitude from location_at($1, $2)', [DEVICE_ID, new Date(PERIOD_START + 2 * 24 * HOUR + 12 * HOUR)])
    expect(at.rows[0].latitude).toBeCloseTo(WORK.latitude, 3)
    const near = await db.query('select count(*)::int as samples from locations_near($1, $2, 300, $3, $4)', [GYM.latitude, GYM.longitude, ...period])
    expect(near.rows[0].samples).toBe(rows.filter((r) => r.time >= PERIOD_START && Math.abs(r.latitude - GYM.latitude) < 0.001 && Math.abs(r.longitude - GYM.longitude) < 0.001).length)
  })
})

// A simulated quarter as a phone uploads it (locations and activity states; acceleration
// would only add heartbeats that activity already gives): nights and weekends at home, a week
// of holiday away, noisy fixes around home, nights with the phone off. places() must find
// where the person really was (the simulator's ground truth) for about as long as they were.
describe('places() on a simulated quarter', () => {
  const options: SimulationOptions = { days: 91, seed: 7, startDate: '2024-03-04', accelerationHoursPerDay: 0 }
  const truth = groundTruth(options)
  const from = new Date(truth.stays[0]!.fromMs - (truth.stays[0]!.fromMs % 86_400_000) - 3_600_000) // local midnight, Berlin winter
  const to = new Date(Date.parse('2024-06-03T00:00:00+02:00'))
  let service: RunningService
  let db: pg.Client

  beforeAll(async () => {
    service = await startService()
    db = await sqlClient(service.databaseUrl)
    // Uploaded the way a phone sends them: the backfill job then materializes the minute
    // aggregates that places() reads its heartbeats from.
    let lines: string[] = []
    const send = async () => {
      const response = await fetch(`${service.baseUrl}/v1/samples`, {
        method: 'POST',
        headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/x-ndjson' },
        body: lines.join('\n') + '\n',
      })
      expect(response.status, await response.clone().text()).toBe(200)
      lines = []
    }
    for (const sample of generateSamples(options)) {
      lines.push(formatSampleLine(sample))
      if (lines.length === 20_000) await send()
    }
    await send()
  }, 300_000)

  afterAll(async () => {
    await db?.end()
    await service?.stop()
  })

  it('gives each of the top three places its true dwell within 5 %', async () => {
    expect(truth.phoneOff.length).toBeGreaterThan(2)
    // The quarter is long past: its minutes reach the aggregates through the backfill job.
    await expect.poll(async () => Number((await db.query('select count(*) from aggregate_backfill_ranges')).rows[0].count), { timeout: 120_000, interval: 1000 }).toBe(0)
    const { rows } = await db.query<{ place: number; latitude: number; longitude: number; dwell_h: number; typical_hours: number[] }>(
      `select place, latitude, longitude, (extract(epoch from dwell) / 3600)::float8 as dwell_h, typical_hours
       from places((select id from devices where name = 'local'), $1, $2, time_zone => 'Europe/Berlin') where place <= 3`,
      [from, to],
    )
    const trueHours = new Map<string, number>()
    for (const stay of truth.stays) {
      const counted = Math.min(stay.toMs, to.getTime()) - Math.max(stay.fromMs, from.getTime())
      if (counted > 0) trueHours.set(stay.place, (trueHours.get(stay.place) ?? 0) + counted / 3_600_000)
    }
    const places = truth.stays.filter((stay, i, all) => all.findIndex((other) => other.place === stay.place) === i)
    const table = rows.map((row) => {
      const nearest = places.reduce((best, place) => (distanceMeters(place, row) < distanceMeters(best, row) ? place : best))
      const expected = trueHours.get(nearest.place)!
      return { place: row.place, is: nearest.place, metres_off: Math.round(distanceMeters(nearest, row)), dwell_h: Number(row.dwell_h.toFixed(1)), true_h: Number(expected.toFixed(1)), error: Number(((row.dwell_h - expected) / expected).toFixed(4)), typical_hours: row.typical_hours }
    })
    console.table(table)
    expect(table.map((row) => row.is)).toEqual(['home', 'work', 'holiday'])
    for (const row of table) {
      expect(row.metres_off, row.is).toBeLessThan(100)
      expect(Math.abs(row.error), row.is).toBeLessThan(0.05)
    }
    // Local hours: home holds the nights, work the office hours.
    expect(table[0]!.typical_hours).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5, 6]))
    expect(table[1]!.typical_hours).toEqual(expect.arrayContaining([10, 11, 14, 15]))
  }, 240_000)
})

// The stays places() clusters are materialized (sql/031): per device up to a watermark, kept
// current by each upload and the job refresh_location_stays. The answer must be exactly the
// one computed from the samples, also after a late upload inside a stay already materialized.
describe('places() from materialized stays', () => {
  const DAY = 86_400_000
  const today = Date.parse(new Date().toISOString().slice(0, 10))
  const options: SimulationOptions = { days: 10, seed: 11, startDate: new Date(today - 12 * DAY).toISOString().slice(0, 10), accelerationHoursPerDay: 0 }
  const period = [new Date(today - 13 * DAY), new Date()]
  let service: RunningService
  let db: pg.Client
  let device: number

  async function upload(lines: string[]): Promise<void> {
    const response = await fetch(`${service.baseUrl}/v1/samples`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n') + '\n',
    })
    expect(response.status, await response.clone().text()).toBe(200)
  }

  async function runStaysJob(): Promise<void> {
    const job = await db.query("select job_id from timescaledb_information.jobs where proc_name = 'refresh_location_stays'")
    await db.query('call run_job($1)', [job.rows[0].job_id])
  }

  async function watermark(): Promise<Date | undefined> {
    return (await db.query('select materialized_until from location_stays_state where device_id = $1', [device])).rows[0]?.materialized_until
  }

  const PLACES = `select place, latitude, longitude, extract(epoch from dwell)::float8 as dwell_s, visits, sample_count,
                         first_seen, last_seen, hourly_dwell_hours, typical_hours
                  from places($1, $2, $3, time_zone => 'Europe/Berlin')`

  type PlaceRow = { place: number; latitude: number; longitude: number; dwell_s: number; visits: number; sample_count: number; hourly_dwell_hours: number[] }

  async function placesNow(): Promise<PlaceRow[]> {
    return (await db.query<PlaceRow>(PLACES, [device, ...period])).rows
  }

  /** places() computed from the samples alone: the device's materialization hidden in a rolled-back transaction. */
  async function placesFromScratch(): Promise<PlaceRow[]> {
    await db.query('begin')
    try {
      await db.query('delete from location_stays_state where device_id = $1', [device])
      return (await db.query<PlaceRow>(PLACES, [device, ...period])).rows
    } finally {
      await db.query('rollback')
    }
  }

  /** Equal up to the floating-point order of the centroid sums (stays may be cut at other instants). */
  function expectSamePlaces(actual: PlaceRow[], expected: PlaceRow[]): void {
    expect(actual.length).toBe(expected.length)
    actual.forEach((row, i) => {
      const want = expected[i]!
      expect({ ...row, latitude: 0, longitude: 0, hourly_dwell_hours: [] }).toEqual({ ...want, latitude: 0, longitude: 0, hourly_dwell_hours: [] })
      expect(row.latitude).toBeCloseTo(want.latitude, 7)
      expect(row.longitude).toBeCloseTo(want.longitude, 7)
      row.hourly_dwell_hours.forEach((hours, h) => expect(hours).toBeCloseTo(want.hourly_dwell_hours[h]!, 6))
    })
  }

  /** Stays in the table that the samples do not give, and the other way round (merged per location sample). */
  async function staleStays(): Promise<number> {
    const result = await db.query(
      `with materialized_stays as (
         select sample_time, range_agg(tstzrange(started, ended)) as spans from location_stays where device_id = $1 group by 1
       ), computed as (
         select sample_time, range_agg(tstzrange(started, ended)) as spans
         from location_spans_computed($1, '-infinity', (select materialized_until from location_stays_state where device_id = $1)) group by 1
       )
       select count(*)::int as n from ((table materialized_stays except table computed) union all (table computed except table materialized_stays)) d`,
      [device],
    )
    return result.rows[0].n
  }

  beforeAll(async () => {
    service = await startService()
    db = await sqlClient(service.databaseUrl)
    device = (await db.query("select id from devices where name = 'local'")).rows[0].id
    let lines: string[] = []
    for (const sample of generateSamples(options)) {
      lines.push(formatSampleLine(sample))
      if (lines.length === 20_000) {
        await upload(lines)
        lines = []
      }
    }
    await upload(lines)
  }, 300_000)

  afterAll(async () => {
    await db?.end()
    await service?.stop()
  })

  it('materializes the stays up to 6 hours ago and answers exactly as the computation from the samples', async () => {
    // The days are past the refresh policies' window: their minutes reach the aggregates through the backfill job.
    await expect.poll(async () => Number((await db.query('select count(*) from aggregate_backfill_ranges')).rows[0].count), { timeout: 120_000, interval: 1000 }).toBe(0)
    await runStaysJob()
    const until = await watermark()
    expect(Math.abs(Date.now() - 6 * 3_600_000 - until!.getTime())).toBeLessThan(10 * 60_000)
    expect((await db.query('select count(*)::int as n from location_stays where device_id = $1', [device])).rows[0].n).toBeGreaterThan(100)
    expect(await staleStays()).toBe(0)
    const places = await placesNow()
    expect(places.length).toBeGreaterThanOrEqual(3)
    expectSamePlaces(places, await placesFromScratch())
  }, 180_000)

  it('takes a late upload inside a materialized stay: split at once, and the same after the job', async () => {
    await runStaysJob()
    const before = await placesNow()
    // The longest stay piece: at home, most likely; an hour in its middle spent 3 km north.
    const stay = (await db.query<{ started: Date; ended: Date; latitude: number; longitude: number }>(
      'select started, ended, latitude, longitude from location_stays where device_id = $1 order by ended - started desc limit 1', [device])).rows[0]!
    const away = { latitude: stay.latitude + 0.027, longitude: stay.longitude }
    const leftAt = new Date(Math.floor((stay.started.getTime() + stay.ended.getTime()) / 2 / 60_000) * 60_000)
    const backAt = new Date(leftAt.getTime() + 3_600_000)
    const location = (id: number, at: Date, point: { latitude: number; longitude: number }) =>
      JSON.stringify({ id: String(id), data: { '@type': 'type.googleapis.com/Location', ...point }, timestamp: at.toISOString() })
    await upload([location(9_000_000_001, leftAt, away), location(9_000_000_002, backAt, { latitude: stay.latitude, longitude: stay.longitude })])

    // The watermark moved back before the late samples: the answer is exact without the job.
    expect((await watermark())!.getTime()).toBeLessThan(leftAt.getTime())
    const after = await placesNow()
    expectSamePlaces(after, await placesFromScratch())
    const home = (rows: PlaceRow[]) => rows.find((row) => Math.abs(row.latitude - stay.latitude) < 0.004 && Math.abs(row.longitude - stay.longitude) < 0.006)!
    expect(home(after).dwell_s).toBeCloseTo(home(before).dwell_s - 3600, 3)
    expect(after.find((row) => Math.abs(row.latitude - away.latitude) < 0.001)?.dwell_s).toBeCloseTo(3600, 3)

    await runStaysJob()
    expect(Math.abs(Date.now() - 6 * 3_600_000 - (await watermark())!.getTime())).toBeLessThan(10 * 60_000)
    expect(await staleStays()).toBe(0)
    expectSamePlaces(await placesNow(), after)
  }, 120_000)
})
