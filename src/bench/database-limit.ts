// The database's own limit: the rows/s its fastest bulk path loads into the service's
// hypertables, with nothing of this project in between. On the embedded engine that is
// PGlite's COPY FROM '/dev/blob' (the rows handed over in memory; COPY FROM STDIN through the
// wire server crashes this PGlite build); against a server it is COPY FROM STDIN.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import copyStreams from 'pg-copy-streams'
import type { SimulatedKind, SimulatedSample } from '../sim/index.ts'
import type { BenchDatabase } from './bench-database.ts'
import { BENCH_KINDS, type Dataset } from './dataset.ts'

const COLUMNS: Record<SimulatedKind, string> = {
  location: 'location_samples (time, device_id, sample_id, latitude, longitude)',
  activity: 'activity_samples (time, device_id, sample_id, unknown, stationary, walking, running)',
  acceleration: 'acceleration_samples (time, device_id, sample_id, x, y, z)',
}

const BENCH_DEVICE_ID = 1

/** The samples of one kind in COPY's text format (tab-separated, one row a line). */
export function copyText(samples: readonly SimulatedSample[]): string {
  const flag = (value: boolean) => (value ? 't' : 'f')
  let text = ''
  for (const sample of samples) {
    const key = `${new Date(sample.timeMs).toISOString()}\t${BENCH_DEVICE_ID}\t${sample.id}`
    if (sample.kind === 'location') text += `${key}\t${sample.data.latitude}\t${sample.data.longitude}\n`
    else if (sample.kind === 'activity') text += `${key}\t${flag(sample.data.unknown)}\t${flag(sample.data.stationary)}\t${flag(sample.data.walking)}\t${flag(sample.data.running)}\n`
    else text += `${key}\t${sample.data.x}\t${sample.data.y}\t${sample.data.z}\n`
  }
  return text
}

export type CopyTexts = Record<SimulatedKind, string>

export function copyTexts(dataset: Dataset): CopyTexts {
  return Object.fromEntries(BENCH_KINDS.map((kind) => [kind, copyText(dataset.samples[kind])])) as CopyTexts
}

/** Loads every kind by the bulk path into empty tables; returns the seconds it took. */
export async function loadDirect(database: BenchDatabase, texts: CopyTexts): Promise<number> {
  await database.truncate()
  const started = performance.now()
  for (const kind of BENCH_KINDS) await copyInto(database, COLUMNS[kind], texts[kind])
  return (performance.now() - started) / 1000
}

/**
 * The same COPY of the acceleration rows into a plain PostgreSQL table with the same columns
 * and unique index, next to the hypertable: what the hypertable costs (or saves) on insert.
 * Returns seconds for [plain table, hypertable].
 */
export async function plainVersusHypertable(database: BenchDatabase, texts: CopyTexts): Promise<{ plainSeconds: number; hypertableSeconds: number }> {
  await database.pool.query('drop table if exists bench_plain_acceleration')
  await database.pool.query(
    `create table bench_plain_acceleration (time timestamptz not null, device_id integer not null, sample_id bigint not null,
       x double precision not null, y double precision not null, z double precision not null)`,
  )
  await database.pool.query('create unique index on bench_plain_acceleration (device_id, time desc, sample_id)')
  try {
    let started = performance.now()
    await copyInto(database, 'bench_plain_acceleration (time, device_id, sample_id, x, y, z)', texts.acceleration)
    const plainSeconds = (performance.now() - started) / 1000
    await database.truncate()
    started = performance.now()
    await copyInto(database, COLUMNS.acceleration, texts.acceleration)
    return { plainSeconds, hypertableSeconds: (performance.now() - started) / 1000 }
  } finally {
    await database.pool.query('drop table if exists bench_plain_acceleration')
  }
}

async function copyInto(database: BenchDatabase, target: string, text: string): Promise<void> {
  if (database.pglite) {
    await database.pglite.query(`copy ${target} from '/dev/blob'`, [], { blob: new Blob([text]) })
    return
  }
  const client = await database.pool.connect()
  try {
    await pipeline(Readable.from(chunks(text)), client.query(copyStreams.from(`copy ${target} from stdin`)))
  } finally {
    client.release()
  }
}

/** COPY data in 64 KiB pieces, as a client streaming a file would send it. */
function* chunks(text: string): Generator<Buffer> {
  const bytes = Buffer.from(text)
  for (let start = 0; start < bytes.length; start += 64 * 1024) yield bytes.subarray(start, start + 64 * 1024)
}
