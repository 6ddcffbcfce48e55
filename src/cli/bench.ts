// npm run bench [-- --samples N --runs R --quick --profile --database-url postgres://...]
//
// How many samples per second one instance takes, next to what the database itself absorbs
// on the same machine and schema. Prints one table and writes bench/results/<time>.json.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY } from '../client/send-files.ts'
import { addDevice } from '../db/devices.ts'
import { createLogger } from '../logger.ts'
import { openBenchDatabase } from '../bench/bench-database.ts'
import { CODEC_CASES, encodeBodies, lineBatches } from '../bench/bodies.ts'
import { decodeRate } from '../bench/codec-throughput.ts'
import { summarizeProfile, type ProfileSummary } from '../bench/cpu-profile.ts'
import { buildDataset } from '../bench/dataset.ts'
import { copyTexts, loadDirect, plainVersusHypertable } from '../bench/database-limit.ts'
import { uploadDataset } from '../bench/end-to-end.ts'
import { fsyncOffFigures } from '../bench/fsync-cost.ts'
import { groupCommitGain } from '../bench/group-commit.ts'
import { buildReport, formatReport, writeReport, type RunFigures } from '../bench/report.ts'
import { startBenchService } from '../bench/service-process.ts'
import { postSmallUploads } from '../bench/small-uploads.ts'
import { decodedBatches, writeAll } from '../bench/writer-throughput.ts'

const USAGE = `Usage: npm run bench -- [options]

  --samples N          samples of each kind (location, activity, acceleration); default 20000
  --runs R             repetitions; the table quotes the median; default 3
  --quick              a few seconds (CI): 2000 samples of each kind, 1 run
  --database-url URL   measure against this TimescaleDB server instead of the embedded one
                       (its sample tables are TRUNCATED: use a scratch database)
  --profile            run the service under node --cpu-prof in the last run and summarize it
  --clients C          concurrent clients for the small-upload figure; default 32
  --out DIR            where the JSON goes; default bench/results
  -h, --help           this text`

const MiB = 1024 * 1024
const SMALL_UPLOAD_SAMPLES = 100
const MAX_SMALL_UPLOADS = 500
// The bench measures throughput, so the per-device rate limit (which would pace one device
// to 2000 samples/s) is lifted, and admission takes all of the small-upload clients at once.
const SERVICE_ENV = { RATE_LIMIT_SAMPLES_PER_SECOND: '100000000', MAX_UPLOADS_IN_FLIGHT: '256' }

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      samples: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'database-url': { type: 'string' },
      profile: { type: 'boolean', default: false },
      clients: { type: 'string', default: '32' },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const samplesPerKind = wholeNumber('--samples', values.samples ?? (values.quick ? '2000' : '20000'))
  const runs = wholeNumber('--runs', values.runs ?? (values.quick ? '1' : '3'))
  const clients = wholeNumber('--clients', values.clients)
  const databaseUrl = values['database-url']
  const startedAt = new Date()
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-bench-'))
  const log = (message: string) => process.stderr.write(`bench: ${message}\n`)
  const logger = createLogger({ logLevel: 'warn' })

  log(`generating ${samplesPerKind} samples of each kind in ${workDir}`)
  const dataset = buildDataset(samplesPerKind, path.join(workDir, 'samples'))
  const batches = lineBatches(dataset, DEFAULT_BATCH_SIZE)
  const texts = copyTexts(dataset)
  const codecBodies = CODEC_CASES.map((codecCase) => [codecCase, encodeBodies(codecCase, batches)] as const)
  const writerBatches = decodedBatches(codecBodies[0]![1])
  // An even spread over the kinds, at most MAX_SMALL_UPLOADS of them: enough for a p99.
  const allSmallBatches = lineBatches(dataset, SMALL_UPLOAD_SAMPLES)
  const smallStep = Math.ceil(allSmallBatches.length / MAX_SMALL_UPLOADS)
  const smallBodies = encodeBodies('collection', allSmallBatches.filter((_, index) => index % smallStep === 0)).bodies
  const smallBatches = decodedBatches({ format: 'collection', gzip: false, bodies: smallBodies })

  const database = await openBenchDatabase({ databaseUrl, dataDir: path.join(workDir, 'direct'), poolSize: 8, logger })
  const runFigures: RunFigures[] = []
  const notes: Record<string, unknown> = {}
  let profile: ProfileSummary | undefined
  try {
    const plain = await plainVersusHypertable(database, texts)
    notes.acceleration_copy_plain_table_rows_per_s = samplesPerKind / plain.plainSeconds
    notes.acceleration_copy_hypertable_rows_per_s = samplesPerKind / plain.hypertableSeconds

    for (let run = 1; run <= runs; run++) {
      log(`run ${run} of ${runs}`)
      const figures: RunFigures = {}
      figures.limit_rows_per_s = dataset.totalSamples / (await loadDirect(database, texts))
      figures.writer_samples_per_s = dataset.totalSamples / (await writeAll(database, writerBatches, DEFAULT_CONCURRENCY))
      const gain = await groupCommitGain(database, smallBatches, clients)
      figures.writer_small_one_tx_each_samples_per_s = gain.oneEachSamplesPerSecond
      figures.writer_small_grouped_samples_per_s = gain.groupedSamplesPerSecond
      await database.truncate()

      const profileDir = values.profile && run === runs ? path.join(workDir, 'profile') : undefined
      const service = await startBenchService({ dataDir: path.join(workDir, `service-${run}`), databaseUrl, cpuProfileDir: profileDir, env: SERVICE_ENV })
      try {
        const token = service.localToken ?? (await addDevice(database.pool, `bench-${startedAt.getTime()}-${run}`)).token
        figures.service_samples_per_s = (await uploadDataset(service, token, dataset)).samplesPerSecond
        const small = await postSmallUploads(service, await newDeviceToken(service.databaseUrl, `bench-small-${run}`), smallBodies, SMALL_UPLOAD_SAMPLES, clients)
        figures.small_uploads_samples_per_s = small.samplesPerSecond
        figures.small_uploads_p50_ms = small.p50Ms
        figures.small_uploads_p99_ms = small.p99Ms
        figures.service_peak_rss_mib = service.peakRssBytes() / MiB
      } finally {
        await service.stop()
      }
      // The cost of durable commits: the same uploads with EMBEDDED_FSYNC=off, beside the figures above.
      if (!databaseUrl) Object.assign(figures, await fsyncOffFigures({ dataDir: path.join(workDir, `service-${run}-fsync-off`), env: SERVICE_ENV, dataset, smallBodies, samplesPerUpload: SMALL_UPLOAD_SAMPLES, clients }))
      if (profileDir) {
        const file = fs.readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'))
        if (file) profile = summarizeProfile(path.join(profileDir, file))
      }
      for (const [codecCase, encoded] of codecBodies) figures[`decode_${codecCase.replace('+', '_')}_samples_per_s`] = decodeRate(encoded)
      runFigures.push(figures)
    }
  } finally {
    await database.close()
  }
  if (profile) notes.service_cpu_profile = profile

  const report = buildReport({
    startedAt,
    command: `npm run bench -- ${argv.join(' ')}`.trim(),
    settings: {
      database: databaseUrl ? 'server (--database-url)' : 'embedded (PGlite + TimescaleDB)',
      samplesPerKind,
      totalSamples: dataset.totalSamples,
      runs,
      batchSize: DEFAULT_BATCH_SIZE,
      clientConcurrency: DEFAULT_CONCURRENCY,
      format: 'collection',
      smallUploads: { clients, samplesPerUpload: SMALL_UPLOAD_SAMPLES },
      serviceEnv: SERVICE_ENV,
    },
    runs: runFigures,
    notes,
  })
  process.stdout.write(`${formatReport(report)}\n`)
  if (profile) process.stdout.write(`\nservice CPU by area: ${profile.areas.map((area) => `${area.area} ${(area.share * 100).toFixed(1)} %`).join(', ')}\n`)
  log(`results: ${writeReport(report, values.out)}`)
  fs.rmSync(workDir, { recursive: true, force: true })
}

async function newDeviceToken(databaseUrl: string, name: string): Promise<string> {
  const client = new pg.Client(databaseUrl)
  await client.connect()
  try {
    return (await addDevice(client, `${name}-${Date.now()}`)).token
  } finally {
    await client.end()
  }
}

function wholeNumber(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${flag} must be a whole number >= 1, got ${raw}`)
  return Number(raw)
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
