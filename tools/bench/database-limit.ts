// The database's true limit: the rows/s its fastest bulk path loads into the service's
// hypertables (same tables, same indexes), with nothing of this project in between. Every
// way is measured and the fastest is the limit:
// - COPY in text and in binary format, one stream: on the embedded engine PGlite's COPY FROM
//   '/dev/blob' (the rows handed over in memory: the engine alone, without the wire server
//   that the service's own COPY goes through), on a server COPY FROM STDIN;
// - on a server, binary COPY on one stream per core (the embedded engine has one backend);
// - binary COPY of 20,000-row slices (the writer's group size), each its own transaction, one
//   stream per core on a server (one on the embedded engine): on a server the writer, two
//   groups at a time, loaded faster than every whole-kind COPY above (up to 1.6x), so this is
//   how the database takes the rows fastest there;
// - on a server, psql's \copy of the same rows from text files, where psql is installed.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import copyStreams from 'pg-copy-streams'
import type { BenchDatabase } from './bench-database.ts'
import type { SampleBatch } from '../../src/codec/index.ts'
import { DEFAULT_BATCH_SIZE } from '../../src/client/send-files.ts'
import { COPY_TARGETS } from '../../src/db/sample-copy.ts'
import { MAX_SAMPLES_PER_GROUP } from '../../src/db/sample-writer.ts'
import { binaryPayloads, binarySlices, textPayloads, type CopyPayloads } from './copy-payloads.ts'
import { BENCH_KINDS, type Dataset } from './dataset.ts'

/** Client batches in one slice: the writer's largest group (20,000 rows of 5,000-sample uploads). */
const WRITER_GROUP_BATCHES = MAX_SAMPLES_PER_GROUP / DEFAULT_BATCH_SIZE

export interface LimitPayloads {
  text: CopyPayloads
  binary: CopyPayloads
  /** One binary payload per stream (server only). */
  binaryPerStream: CopyPayloads[]
  /** 20,000-row slices, one list per stream (one stream embedded, one per core on a server). */
  binarySlicesPerStream: ReturnType<typeof binarySlices>
  /** Text files for psql's \copy, when psql is installed (server only). */
  psqlScript: string | undefined
}

/** Everything the limit loads, encoded before any clock starts; `batches` are the dataset decoded. */
export function limitPayloads(database: BenchDatabase, dataset: Dataset, batches: readonly SampleBatch[], workDir: string): LimitPayloads {
  const text = textPayloads(dataset)
  const server = database.kind === 'server'
  return {
    text,
    binary: binaryPayloads(batches)[0]!,
    binaryPerStream: server ? binaryPayloads(batches, os.availableParallelism()) : [],
    binarySlicesPerStream: binarySlices(batches, WRITER_GROUP_BATCHES, server ? os.availableParallelism() : 1),
    psqlScript: server && psqlInstalled() ? writePsqlScript(text, workDir) : undefined,
  }
}

/** rows/s of each way in; the figures' names end in their unit. */
export async function measureLimit(database: BenchDatabase, payloads: LimitPayloads, rows: number): Promise<Record<string, number>> {
  const figures: Record<string, number> = {}
  const rate = async (name: string, load: () => Promise<void>) => {
    await database.truncate()
    const started = performance.now()
    await load()
    figures[name] = rows / ((performance.now() - started) / 1000)
  }
  await rate('limit_copy_text_rows_per_s', () => copyAll(database, payloads.text, 'text'))
  await rate('limit_copy_binary_rows_per_s', () => copyAll(database, payloads.binary, 'binary'))
  if (payloads.binaryPerStream.length > 1) {
    await rate('limit_copy_binary_parallel_rows_per_s', async () => {
      await Promise.all(payloads.binaryPerStream.map((part) => copyAll(database, part, 'binary')))
    })
  }
  await rate('limit_copy_binary_slices_rows_per_s', async () => {
    await Promise.all(payloads.binarySlicesPerStream.map(async (slices) => {
      for (const { kind, payload } of slices) await copyInto(database, COPY_TARGETS[kind], payload, 'binary')
    }))
  })
  if (payloads.psqlScript) {
    const script = payloads.psqlScript
    await rate('limit_psql_copy_rows_per_s', async () => runPsql(database.url, script))
  }
  figures.limit_rows_per_s = Math.max(...Object.values(figures))
  return figures
}

async function copyAll(database: BenchDatabase, payloads: CopyPayloads, format: 'text' | 'binary'): Promise<void> {
  for (const kind of BENCH_KINDS) await copyInto(database, COPY_TARGETS[kind], payloads[kind], format)
}

/**
 * The same COPY of the acceleration rows into a plain PostgreSQL table with the same columns
 * and unique index, next to the hypertable: what the hypertable costs (or saves) on insert.
 * Returns seconds for [plain table, hypertable].
 */
export async function plainVersusHypertable(database: BenchDatabase, payloads: LimitPayloads): Promise<{ plainSeconds: number; hypertableSeconds: number }> {
  await database.pool.query('drop table if exists bench_plain_acceleration')
  await database.pool.query(
    `create table bench_plain_acceleration (time timestamptz not null, device_id integer not null, sample_id bigint not null,
       x double precision not null, y double precision not null, z double precision not null)`,
  )
  await database.pool.query('create unique index on bench_plain_acceleration (device_id, time, sample_id)')
  try {
    let started = performance.now()
    await copyInto(database, 'bench_plain_acceleration (time, device_id, sample_id, x, y, z)', payloads.binary.acceleration, 'binary')
    const plainSeconds = (performance.now() - started) / 1000
    await database.truncate()
    started = performance.now()
    await copyInto(database, COPY_TARGETS.acceleration, payloads.binary.acceleration, 'binary')
    return { plainSeconds, hypertableSeconds: (performance.now() - started) / 1000 }
  } finally {
    await database.pool.query('drop table if exists bench_plain_acceleration')
  }
}

async function copyInto(database: BenchDatabase, target: string, payload: Buffer, format: 'text' | 'binary'): Promise<void> {
  if (database.pglite) {
    await database.pglite.query(`copy ${target} from '/dev/blob' with (format ${format})`, [], { blob: new Blob([payload]) })
    return
  }
  const client = await database.pool.connect()
  try {
    await pipeline(Readable.from(chunks(payload)), client.query(copyStreams.from(`copy ${target} from stdin with (format ${format})`)))
  } finally {
    client.release()
  }
}

/** COPY data in 64 KiB pieces, as a client streaming a file would send it. */
function* chunks(bytes: Buffer): Generator<Buffer> {
  for (let start = 0; start < bytes.length; start += 64 * 1024) yield bytes.subarray(start, start + 64 * 1024)
}

function psqlInstalled(): boolean {
  return spawnSync('psql', ['--version'], { stdio: 'ignore' }).status === 0
}

/** The text payloads as files, and one psql script that \copy-s them in. */
function writePsqlScript(text: CopyPayloads, workDir: string): string {
  const directory = path.join(workDir, 'psql-copy')
  fs.mkdirSync(directory, { recursive: true })
  const lines = BENCH_KINDS.map((kind) => {
    const file = path.join(directory, `${kind}.tsv`)
    fs.writeFileSync(file, text[kind])
    return `\\copy ${COPY_TARGETS[kind]} from '${file}'`
  })
  const script = path.join(directory, 'load.sql')
  fs.writeFileSync(script, `${lines.join('\n')}\n`)
  return script
}

function runPsql(url: string, script: string): void {
  execFileSync('psql', ['--no-psqlrc', '-v', 'ON_ERROR_STOP=1', '-q', '-d', url, '-f', script], { stdio: ['ignore', 'ignore', 'pipe'] })
}
