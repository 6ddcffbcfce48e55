// Writes uploads. New samples go in by binary COPY into their hypertable (sample-copy.ts, sent
// with its data in one write by copy-in.ts): the database's own fastest way in, the one the
// bench's true limit measures. A retried upload hits the (device, sample id, time) key
// instead; its rows then go in again by INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
// NOTHING, and the rows not inserted are the duplicates. Never a statement per sample.
//
// Group commit (group-commit.ts): concurrent uploads share one transaction and its commit, so
// many small uploads pay for one commit (and, with durable commits, one sync) instead of one
// each. A group first goes in straight: the rows of all its uploads together, one COPY per
// kind, then their bookkeeping in one simple query with the COMMIT (storeTogether: the common
// case, new samples, no savepoints, as cheap per sample as one large upload). If anything
// fails, that transaction is rolled back and the group goes again one upload at a time, each
// under its own savepoint (storeUploadAlone), so a bad upload is taken back alone and the
// others are committed. Every answer waits for the shared commit: 200 still means all of the
// upload is committed, anything else none.
//
// Statement shape, by measurement (npm run bench, docs/performance.md): binary COPY beat the
// plain INSERT ... unnest; for the ON CONFLICT path, unnest of one array per column beat a
// multi-row VALUES list by about 2x (one parameter per column instead of per value, one
// short statement to parse). On the embedded engine the wire server plays COPY FROM STDIN
// with the client and runs it on PGlite's own blob path (src/db/embedded/copy-translation.ts).
import { SpanKind, trace } from '@opentelemetry/api'
import type pg from 'pg'
import { inSpan } from '../telemetry/spans.ts'
import { countsByKind, type CountsByKind, type SampleBatch, type SampleKind } from '../codec/index.ts'
import { createGroupCommit, type GroupCommit, type Settled } from './group-commit.ts'
import { sqlState, transaction, withMeasuredClient, type Pool } from './pool.ts'
import { copyIn } from './copy-in.ts'
import { COPY_TARGETS, copyPayload } from './sample-copy.ts'
import { recordUploads, recordUploadsStatement } from './upload-bookkeeping.ts'

// The sample time arrives as whole seconds + microseconds: to_timestamp is exact for whole
// seconds, and the microseconds are added as an interval, so no precision is lost to floats.
const TIME = `to_timestamp(s) + us * interval '1 microsecond'`

interface KindInsert {
  /** $1 device ids, then the kind's columns in order, each an array. */
  sql: string
  /** The kind's columns of one upload, in parameter order. */
  columns(batch: SampleBatch): ReadonlyArray<readonly unknown[]>
  /**
   * Columns of numbers, booleans and decimal ids: sent as one array literal built by a join,
   * which costs a fraction of the driver's per-element quoting and escaping. Text and bytea
   * columns go as arrays through the driver, which escapes them.
   */
  literal: readonly boolean[]
}

const KEY = [true, true, true]

const INSERTS: Record<SampleKind, KindInsert> = {
  location: {
    sql: `insert into location_samples (time, device_id, sample_id, latitude, longitude)
          select ${TIME}, device_id, id, latitude, longitude
          from unnest($1::int[], $2::bigint[], $3::float8[], $4::int[], $5::float8[], $6::float8[]) as t(device_id, id, s, us, latitude, longitude)
          on conflict do nothing`,
    columns: ({ location: c }) => [c.sampleIds, c.seconds, c.micros, c.latitudes, c.longitudes],
    literal: [...KEY, true, true],
  },
  activity: {
    sql: `insert into activity_samples (time, device_id, sample_id, unknown, stationary, walking, running)
          select ${TIME}, device_id, id, unknown, stationary, walking, running
          from unnest($1::int[], $2::bigint[], $3::float8[], $4::int[], $5::bool[], $6::bool[], $7::bool[], $8::bool[]) as t(device_id, id, s, us, unknown, stationary, walking, running)
          on conflict do nothing`,
    columns: ({ activity: c }) => [c.sampleIds, c.seconds, c.micros, c.unknown, c.stationary, c.walking, c.running],
    literal: [...KEY, true, true, true, true],
  },
  acceleration: {
    sql: `insert into acceleration_samples (time, device_id, sample_id, x, y, z)
          select ${TIME}, device_id, id, x, y, z
          from unnest($1::int[], $2::bigint[], $3::float8[], $4::int[], $5::float8[], $6::float8[], $7::float8[]) as t(device_id, id, s, us, x, y, z)
          on conflict do nothing`,
    columns: ({ acceleration: c }) => [c.sampleIds, c.seconds, c.micros, c.x, c.y, c.z],
    literal: [...KEY, true, true, true],
  },
  other: {
    sql: `insert into other_samples (time, device_id, sample_id, type_url, payload)
          select ${TIME}, device_id, id, type_url, payload
          from unnest($1::int[], $2::bigint[], $3::float8[], $4::int[], $5::text[], $6::bytea[]) as t(device_id, id, s, us, type_url, payload)
          on conflict do nothing`,
    columns: ({ other: c }) => [c.sampleIds, c.seconds, c.micros, c.typeUrls, c.payloads],
    literal: [...KEY, false, false],
  },
}

const KINDS = Object.keys(INSERTS) as SampleKind[]

const UNIQUE_VIOLATION = '23505'

export interface Upload {
  deviceId: number
  batch: SampleBatch
}

// WRITE_GROUPS_IN_FLIGHT (config.ts) groups write at once. With one (the embedded engine, which
// runs one transaction at a time), the next group starts as soon as a group has only its COMMIT
// left: its first statement waits in the engine's queue and runs the moment the commit is done,
// instead of after a round trip through this process. With more (a server's backends write side
// by side), a group holds its place until its commit is done: measured against two in flight
// with the next beside a commit, small uploads went faster and cost the database less per
// sample (docs/performance.md, "Choices made by measurement"). Meanwhile the next group gathers
// everything that arrives.

// Each upload of a group that needs savepoints takes a subtransaction; PostgreSQL caches 64
// subtransaction ids per backend before other sessions' snapshots must look them up on disk.
const MAX_UPLOADS_PER_GROUP = 48
// Enough to share a commit among many small uploads while a group's transaction (which holds
// the embedded engine for its whole length) stays short; a larger upload goes alone.
export const MAX_SAMPLES_PER_GROUP = 20_000
// COPY data goes in messages of this size: a whole upload in one message could pass the
// embedded wire server's limit on a message (EMBEDDED_PG_MAX_MESSAGE_BYTES).
const COPY_MESSAGE_BYTES = 1024 * 1024

const writers = new WeakMap<Pool, GroupCommit<Upload, CountsByKind>>()

/**
 * The pool's writer, with `groupsInFlight` groups written at once (WRITE_GROUPS_IN_FLIGHT);
 * made once per pool, on its first use.
 */
export function sampleWriter(pool: Pool, groupsInFlight = 1): GroupCommit<Upload, CountsByKind> {
  let writer = writers.get(pool)
  if (!writer) {
    writer = createGroupCommit<Upload, CountsByKind>({
      maxGroupsInFlight: groupsInFlight,
      maxItemsPerGroup: MAX_UPLOADS_PER_GROUP,
      maxWeightPerGroup: MAX_SAMPLES_PER_GROUP,
      weight: (upload) => upload.batch.count,
      runGroup: (uploads, committing) => writeGroup(pool, uploads, committing),
    })
    writers.set(pool, writer)
  }
  return writer
}

/**
 * Stores a whole upload for one device, or nothing; returns the rows inserted per kind once
 * they are committed (together with the other uploads of its group).
 */
export function writeSamples(pool: Pool, deviceId: number, batch: SampleBatch): Promise<CountsByKind> {
  return sampleWriter(pool).submit({ deviceId, batch })
}

/**
 * One transaction for all `uploads`; each settles on its own. `committing` is called when the
 * group has only its COMMIT left (the next group may start).
 */
export async function writeGroup(pool: Pool, uploads: readonly Upload[], committing: () => void = () => undefined): Promise<Array<Settled<CountsByKind>>> {
  return withMeasuredClient(pool, 'BATCH INSERT', async (client) => {
    try {
      await storeTogether(client, uploads, committing)
      return uploads.map(({ batch }) => ({ ok: true, value: countsByKind(batch) }))
    } catch {
      // Which upload failed, and whether it only repeats samples already stored (a retry:
      // not an error, its duplicates are counted), is what the second pass finds out.
    }
    return transaction(client, async () => {
      const settled: Array<Settled<CountsByKind>> = []
      for (const upload of uploads) settled.push(await storeUploadAlone(client, upload))
      return settled
    })
  })
}

/**
 * All uploads' new samples at once, one COPY per kind, in one transaction. COPY fails when any
 * row is already stored, so success means every row of every upload went in. Anything else an
 * upload writes (as storeUpload does alone) is written here for all of them at once, after the
 * samples, in one simple query with the COMMIT. Each statement is sent from the continuation of
 * the one before, which runs as soon as node-postgres has handled that answer, before this
 * process turns to anything else (on the embedded engine every such turn left the engine idle).
 */
function storeTogether(client: pg.ClientBase, uploads: readonly Upload[], committing: () => void): Promise<void> {
  return transaction(
    client,
    async () => {
      for (const kind of KINDS) {
        if (uploads.some(({ batch }) => batch[kind].sampleIds.length > 0)) await copyRows(client, kind, uploads)
      }
      committing()
    },
    recordUploadsStatement(uploads),
  )
}

/**
 * One upload under its own savepoint: stored, or taken back alone. Almost every upload is new
 * samples, which COPY takes fastest. A retried upload hits the unique key instead; then its
 * rows go in again with INSERT ... ON CONFLICT DO NOTHING, which counts the duplicates.
 */
async function storeUploadAlone(client: pg.ClientBase, upload: Upload): Promise<Settled<CountsByKind>> {
  await client.query('savepoint upload')
  try {
    try {
      return { ok: true, value: await storeUpload(client, upload, copyRows) }
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error
      await client.query('rollback to savepoint upload')
      return { ok: true, value: await storeUpload(client, upload, insertRows) }
    }
  } catch (error) {
    await client.query('rollback to savepoint upload')
    return { ok: false, error }
  } finally {
    // Released, so the savepoints of a group do not nest (a failed one was rolled back to,
    // which keeps it defined, and is released just the same).
    await client.query('release savepoint upload')
  }
}

type WriteRows = (client: pg.ClientBase, kind: SampleKind, uploads: readonly Upload[]) => Promise<number>

/**
 * Everything one upload writes, on its own (under its savepoint). What else an upload writes
 * besides its samples goes here and, for the uploads of a group that went in together, after
 * storeTogether's COPYs.
 */
async function storeUpload(client: pg.ClientBase, upload: Upload, writeRows: WriteRows): Promise<CountsByKind> {
  const stored: CountsByKind = { location: 0, activity: 0, acceleration: 0, other: 0 }
  for (const kind of KINDS) {
    if (upload.batch[kind].sampleIds.length > 0) stored[kind] = await writeRows(client, kind, [upload])
  }
  // Last-seen times and late-data ranges for the aggregates (upload-bookkeeping.ts).
  await recordUploads(client, [upload])
  return stored
}

/** One binary COPY of the `kind` rows of `uploads`; returns the rows copied. */
async function copyRows(client: pg.ClientBase, kind: SampleKind, uploads: readonly Upload[]): Promise<number> {
  const payload = copyPayload(kind, uploads)
  const sql = `copy ${COPY_TARGETS[kind]} from stdin with (format binary)`
  return inCopySpan(sql, () => copyIn(client, sql, messages(payload)))
}

/**
 * node-postgres' instrumentation makes no span for a COPY (copy-in.ts hands node-postgres a
 * query object of its own), so the writer makes the one an upload's trace shows for each of
 * its statements, with the instrumentation's name and attributes, and, like it, only under a
 * span (an upload's).
 */
function inCopySpan<T>(sql: string, work: () => Promise<T>): Promise<T> {
  if (!trace.getActiveSpan()) return work()
  return inSpan('pg.query:COPY', work, { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.statement': sql } })
}

function messages(payload: Buffer): Buffer[] {
  const parts: Buffer[] = []
  for (let start = 0; start < payload.length; start += COPY_MESSAGE_BYTES) parts.push(payload.subarray(start, start + COPY_MESSAGE_BYTES))
  return parts
}

/** One INSERT ... ON CONFLICT DO NOTHING of the `kind` rows of `uploads`; returns the rows inserted. */
async function insertRows(client: pg.ClientBase, kind: SampleKind, uploads: readonly Upload[]): Promise<number> {
  const insert = INSERTS[kind]
  const columns = uploads.map(({ batch }) => insert.columns(batch))
  const deviceIds = uploads.map(({ deviceId, batch }) => Array(batch[kind].sampleIds.length).fill(deviceId).join(','))
  const parameters = insert.literal.map((literal, index) =>
    literal ? `{${columns.map((upload) => upload[index]!.join(',')).join(',')}}` : columns.flatMap((upload) => upload[index]!),
  )
  const result = await client.query(insert.sql, [`{${deviceIds.join(',')}}`, ...parameters])
  return result.rowCount ?? 0
}
