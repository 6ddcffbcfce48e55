// Writes one upload: one transaction, one INSERT ... SELECT FROM unnest(...) per sample kind
// present (never a statement per sample). ON CONFLICT DO NOTHING on the (device, sample id,
// time) key makes retried uploads harmless: the rows not inserted are the duplicates.
import type { CountsByKind, SampleBatch, SampleKind } from '../codec/index.ts'
import { transaction, withClient, type Pool } from './pool.ts'

// The sample time arrives as whole seconds + microseconds: to_timestamp is exact for whole
// seconds, and the microseconds are added as an interval, so no precision is lost to floats.
const TIME = `to_timestamp(s) + us * interval '1 microsecond'`

interface KindInsert {
  sql: string
  values(batch: SampleBatch): unknown[]
}

const INSERTS: Record<SampleKind, KindInsert> = {
  location: {
    sql: `insert into location_samples (time, device_id, sample_id, latitude, longitude)
          select ${TIME}, $1, id, latitude, longitude
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::float8[], $6::float8[]) as t(id, s, us, latitude, longitude)
          on conflict do nothing`,
    values: ({ location: c }) => [c.sampleIds, c.seconds, c.micros, c.latitudes, c.longitudes],
  },
  activity: {
    sql: `insert into activity_samples (time, device_id, sample_id, unknown, stationary, walking, running)
          select ${TIME}, $1, id, unknown, stationary, walking, running
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::bool[], $6::bool[], $7::bool[], $8::bool[]) as t(id, s, us, unknown, stationary, walking, running)
          on conflict do nothing`,
    values: ({ activity: c }) => [c.sampleIds, c.seconds, c.micros, c.unknown, c.stationary, c.walking, c.running],
  },
  acceleration: {
    sql: `insert into acceleration_samples (time, device_id, sample_id, x, y, z)
          select ${TIME}, $1, id, x, y, z
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::float8[], $6::float8[], $7::float8[]) as t(id, s, us, x, y, z)
          on conflict do nothing`,
    values: ({ acceleration: c }) => [c.sampleIds, c.seconds, c.micros, c.x, c.y, c.z],
  },
  other: {
    sql: `insert into other_samples (time, device_id, sample_id, type_url, payload)
          select ${TIME}, $1, id, type_url, payload
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::text[], $6::bytea[]) as t(id, s, us, type_url, payload)
          on conflict do nothing`,
    values: ({ other: c }) => [c.sampleIds, c.seconds, c.micros, c.typeUrls, c.payloads],
  },
}

const KINDS = Object.keys(INSERTS) as SampleKind[]

/** Stores a whole upload for one device, or nothing; returns the rows inserted per kind. */
export async function writeSamples(pool: Pool, deviceId: number, batch: SampleBatch): Promise<CountsByKind> {
  const stored: CountsByKind = { location: 0, activity: 0, acceleration: 0, other: 0 }
  await withClient(pool, (client) =>
    transaction(client, async () => {
      for (const kind of KINDS) {
        if (batch[kind].sampleIds.length === 0) continue
        const insert = INSERTS[kind]
        const result = await client.query(insert.sql, [deviceId, ...insert.values(batch)])
        stored[kind] = result.rowCount ?? 0
      }
    }),
  )
  return stored
}
