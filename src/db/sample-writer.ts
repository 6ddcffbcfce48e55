// Writes one upload: one transaction, one INSERT ... SELECT FROM unnest(...) per sample kind
// present (never a statement per sample). ON CONFLICT DO NOTHING on the (device, sample id,
// time) key makes retried uploads harmless: the rows not inserted are the duplicates.
//
// Statement shape, by measurement (npm run bench, docs/performance.md): unnest of one
// array per column beat a multi-row VALUES list by about 2x (one parameter per column instead
// of per value, one short statement to parse). COPY into a staging table is not available on
// the embedded wire server (COPY FROM STDIN crashes this PGlite build).
import type pg from 'pg'
import type { CountsByKind, SampleBatch, SampleKind } from '../codec/index.ts'
import { transaction, withClient, type Pool } from './pool.ts'
import { recordUpload } from './upload-bookkeeping.ts'

// The sample time arrives as whole seconds + microseconds: to_timestamp is exact for whole
// seconds, and the microseconds are added as an interval, so no precision is lost to floats.
const TIME = `to_timestamp(s) + us * interval '1 microsecond'`
const ON_CONFLICT = 'on conflict do nothing'

interface KindInsert {
  sql: string
  values(batch: SampleBatch): unknown[]
}

const INSERTS: Record<SampleKind, KindInsert> = {
  location: {
    sql: `insert into location_samples (time, device_id, sample_id, latitude, longitude)
          select ${TIME}, $1, id, latitude, longitude
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::float8[], $6::float8[]) as t(id, s, us, latitude, longitude)
          ${ON_CONFLICT}`,
    values: ({ location: c }) => [c.sampleIds, c.seconds, c.micros, c.latitudes, c.longitudes],
  },
  activity: {
    sql: `insert into activity_samples (time, device_id, sample_id, unknown, stationary, walking, running)
          select ${TIME}, $1, id, unknown, stationary, walking, running
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::bool[], $6::bool[], $7::bool[], $8::bool[]) as t(id, s, us, unknown, stationary, walking, running)
          ${ON_CONFLICT}`,
    values: ({ activity: c }) => [c.sampleIds, c.seconds, c.micros, c.unknown, c.stationary, c.walking, c.running],
  },
  acceleration: {
    sql: `insert into acceleration_samples (time, device_id, sample_id, x, y, z)
          select ${TIME}, $1, id, x, y, z
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::float8[], $6::float8[], $7::float8[]) as t(id, s, us, x, y, z)
          ${ON_CONFLICT}`,
    values: ({ acceleration: c }) => [c.sampleIds, c.seconds, c.micros, c.x, c.y, c.z],
  },
  other: {
    sql: `insert into other_samples (time, device_id, sample_id, type_url, payload)
          select ${TIME}, $1, id, type_url, payload
          from unnest($2::bigint[], $3::float8[], $4::int[], $5::text[], $6::bytea[]) as t(id, s, us, type_url, payload)
          ${ON_CONFLICT}`,
    values: ({ other: c }) => [c.sampleIds, c.seconds, c.micros, c.typeUrls, c.payloads],
  },
}

const KINDS = Object.keys(INSERTS) as SampleKind[]

const UNIQUE_VIOLATION = '23505'
const ON_CONFLICT_SQL = Object.fromEntries(KINDS.map((kind) => [kind, INSERTS[kind].sql])) as Record<SampleKind, string>
/** The same inserts without ON CONFLICT, for uploads of new samples only. */
const NEW_ROWS_SQL = Object.fromEntries(KINDS.map((kind) => [kind, INSERTS[kind].sql.replace(ON_CONFLICT, '')])) as Record<SampleKind, string>

/** Stores a whole upload for one device, or nothing; returns the rows inserted per kind. */
export async function writeSamples(pool: Pool, deviceId: number, batch: SampleBatch): Promise<CountsByKind> {
  const kinds = KINDS.filter((kind) => batch[kind].sampleIds.length > 0)
  return withClient(pool, (client) =>
    transaction(client, async () => {
      await recordUpload(client, deviceId, batch)
      // Almost every upload is new samples, and a plain INSERT skips ON CONFLICT's per-row
      // speculative insertion (measured 1.7x faster on the embedded database). A retried
      // upload hits the unique key instead; then its rows go in again with ON CONFLICT DO
      // NOTHING, which counts the duplicates. The savepoint takes the failed attempt back.
      await client.query('savepoint new_samples')
      try {
        return await insertKinds(client, deviceId, batch, kinds, NEW_ROWS_SQL)
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error
        await client.query('rollback to savepoint new_samples')
        return insertKinds(client, deviceId, batch, kinds, ON_CONFLICT_SQL)
      }
    }),
  )
}

async function insertKinds(client: pg.ClientBase, deviceId: number, batch: SampleBatch, kinds: SampleKind[], statements: Record<SampleKind, string>): Promise<CountsByKind> {
  const stored: CountsByKind = { location: 0, activity: 0, acceleration: 0, other: 0 }
  for (const kind of kinds) {
    const insert = INSERTS[kind]
    const result = await client.query(statements[kind], [deviceId, ...insert.values(batch)])
    stored[kind] = result.rowCount ?? 0
  }
  return stored
}
