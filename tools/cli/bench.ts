// npm run bench [-- --samples N --runs R --quick --profile --database-url postgres://...]
//
// How many samples per second one instance takes, next to the database's true limit (its
// fastest bulk load of the same rows into the same hypertables) on the same machine. Prints
// one table and writes bench/results/<time>.json.
//
// Every run measures, in this order, each on empty sample tables:
//   limit     the database alone: COPY text and binary, parallel binary and psql's \copy on a server
//   writer    writeSamples alone, large uploads; then small uploads, one transaction each and grouped
//   service   the real service process, loaded from a process of its own with pre-encoded bodies:
//             large uploads, then small ones from many clients; its CPU time per sample
//   send      the send client (npm run send) end to end, what a user of it sees
//   decode    the codec per body format
// A new phase is a function of one run that adds its figures (names end in their unit).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY } from '../../src/client/send-files.ts'
import { CONTENT_TYPES } from '../../src/codec/index.ts'
import { addDevice } from '../../src/db/devices.ts'
import { RAW_HYPERTABLES } from '../../src/db/policies.ts'
import { createLogger } from '../../src/logger.ts'
import { openBenchDatabase } from '../bench/bench-database.ts'
import { CODEC_CASES, encodeBodies, lineBatches } from '../bench/bodies.ts'
import { decodeRate } from '../bench/codec-throughput.ts'
import { summarizeProfile, type ProfileSummary } from '../bench/cpu-profile.ts'
import { buildDataset } from '../bench/dataset.ts'
import { limitPayloads, measureLimit, plainVersusHypertable } from '../bench/database-limit.ts'
import { countStoredRows, uploadDataset } from '../bench/end-to-end.ts'
import { fsyncOffFigures } from '../bench/fsync-cost.ts'
import { groupCommitGain } from '../bench/group-commit.ts'
import { buildReport, formatReport, writeReport, type RunFigures } from '../bench/report.ts'
import { startBenchService, type BenchService } from '../bench/service-process.ts'
import { runUploadLoad, writeBodies } from '../bench/upload-load.ts'
import { decodedBatches, writeAll } from '../bench/writer-throughput.ts'
import { parseToolArgs, runTool, wholeNumberFlag } from '../../src/cli/usage.ts'

const DEFAULT_SAMPLES = { embedded: 60_000, server: 250_000, quick: 2_000 }

const USAGE = `Usage: npm run bench -- [options]

  --samples N          samples of each kind (location, activity, acceleration); default
                       ${DEFAULT_SAMPLES.embedded} embedded, ${DEFAULT_SAMPLES.server} on --database-url (each phase >= 5 s)
  --runs R             repetitions; the table quotes the median; default 3
  --quick              a few seconds (CI): ${DEFAULT_SAMPLES.quick} samples of each kind, 1 run
  --database-url URL   measure against this TimescaleDB server instead of the embedded one
                       (its sample tables are TRUNCATED: use a scratch database)
  --profile            run the service under node --cpu-prof in the last run and summarize it
  --clients C          concurrent clients for the small-upload figures; default 32
  --out DIR            where the JSON goes; default bench/results
  -h, --help           this text`

const MiB = 1024 * 1024
const SMALL_UPLOAD_SAMPLES = 100
// The bench measures throughput, so the per-device rate limit (which would pace one device
// to 2000 samples/s) is lifted, and admission takes all of the small-upload clients at once.
const SERVICE_ENV = { RATE_LIMIT_SAMPLES_PER_SECOND: '1000000000', MAX_UPLOADS_IN_FLIGHT: '256' }

async function main(): Promise<void> {
  const { values } = parseToolArgs({
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
  const databaseUrl = values['database-url']
  const defaultSamples = values.quick ? DEFAULT_SAMPLES.quick : databaseUrl ? DEFAULT_SAMPLES.server : DEFAULT_SAMPLES.embedded
  const samplesPerKind = wholeNumberFlag('--samples', values.samples ?? String(defaultSamples), { min: 1 })
  const runs = wholeNumberFlag('--runs', values.runs ?? (values.quick ? '1' : '3'), { min: 1 })
  const clients = wholeNumberFlag('--clients', values.clients, { min: 1 })
  const startedAt = new Date()
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-bench-'))
  // Removed whatever happens: the dataset and the bodies are hundreds of MiB on a server run.
  try {
    const log = (message: string) => process.stderr.write(`bench: ${message}\n`)
    const logger = createLogger({ logLevel: 'warn' })

    log(`generating ${samplesPerKind} samples of each kind in ${workDir}`)
    const dataset = buildDataset(samplesPerKind, path.join(workDir, 'samples'))
    const codecBodies = CODEC_CASES.map((codecCase) => [codecCase, encodeBodies(codecCase, lineBatches(dataset, DEFAULT_BATCH_SIZE))] as const)
    const largeBodies = codecBodies[0]![1]
    const writerBatches = decodedBatches(largeBodies)
    const smallBodies = encodeBodies('collection', lineBatches(dataset, SMALL_UPLOAD_SAMPLES))
    const smallBatches = decodedBatches(smallBodies)
    const largeBodiesFile = writeBodies(path.join(workDir, 'bodies', 'large.bin'), largeBodies.bodies)
    const smallBodiesFile = writeBodies(path.join(workDir, 'bodies', 'small.bin'), smallBodies.bodies)

    const database = await openBenchDatabase({ databaseUrl, dataDir: path.join(workDir, 'direct'), poolSize: 8, logger })
    const runFigures: RunFigures[] = []
    const notes: Record<string, unknown> = {}
    const benchReport = () =>
      buildReport({
        startedAt,
        command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
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
    let profile: ProfileSummary | undefined
    try {
      const payloads = limitPayloads(database, dataset, writerBatches, workDir)
      const plain = await plainVersusHypertable(database, payloads)
      notes.acceleration_copy_plain_table_rows_per_s = samplesPerKind / plain.plainSeconds
      notes.acceleration_copy_hypertable_rows_per_s = samplesPerKind / plain.hypertableSeconds

      for (let run = 1; run <= runs; run++) {
        log(`run ${run} of ${runs}`)
        // The machine's state beside the run's figures: on a shared machine it explains their scatter.
        const figures: RunFigures = { load_average_1m_at_start: os.loadavg()[0]! }
        log('limit')
        Object.assign(figures, await measureLimit(database, payloads, dataset.totalSamples))
        log('writer')
        figures.writer_samples_per_s = dataset.totalSamples / (await writeAll(database, writerBatches, DEFAULT_CONCURRENCY))
        const gain = await groupCommitGain(database, smallBatches, clients)
        figures.writer_small_one_tx_each_samples_per_s = gain.oneEachSamplesPerSecond
        figures.writer_small_grouped_samples_per_s = gain.groupedSamplesPerSecond
        await database.truncate()

        const profileDir = values.profile && run === runs ? path.join(workDir, 'profile') : undefined
        const service = await startBenchService({ dataDir: path.join(workDir, `service-${run}`), databaseUrl, cpuProfileDir: profileDir, env: SERVICE_ENV })
        try {
          const usPerSample = (cpuSeconds: number) => (cpuSeconds * 1e6) / dataset.totalSamples
          const load = (bodiesFile: string, loadClients: number, token: string) =>
            runUploadLoad({ service, token, bodiesFile, contentType: CONTENT_TYPES.collection, clients: loadClients })
          log('service')
          const large = await load(largeBodiesFile, DEFAULT_CONCURRENCY, await newDeviceToken(service.databaseUrl, `bench-large-${run}`))
          const stored = await countStoredRows(service.databaseUrl)
          if (stored !== dataset.totalSamples) throw new Error(`${stored} rows in the hypertables after the service load, ${dataset.totalSamples} sent`)
          figures.service_samples_per_s = dataset.totalSamples / large.seconds
          figures.service_cpu_us_per_sample = usPerSample(large.serviceCpuSeconds)
          figures.load_process_cpu_us_per_sample = usPerSample(large.loadCpuSeconds)
          figures.machine_cpu_us_per_sample = usPerSample(large.machineCpuSeconds)
          figures.machine_busy_percent = large.machineBusyShare * 100
          await truncateSamples(service)

          log('small uploads')
          const small = await load(smallBodiesFile, clients, await newDeviceToken(service.databaseUrl, `bench-small-${run}`))
          figures.small_uploads_samples_per_s = dataset.totalSamples / small.seconds
          figures.small_uploads_p50_ms = small.p50Ms
          figures.small_uploads_p99_ms = small.p99Ms
          figures.small_uploads_cpu_us_per_sample = usPerSample(small.serviceCpuSeconds)
          figures.small_uploads_load_process_cpu_us_per_sample = usPerSample(small.loadCpuSeconds)
          figures.small_uploads_machine_cpu_us_per_sample = usPerSample(small.machineCpuSeconds)
          figures.small_uploads_machine_busy_percent = small.machineBusyShare * 100
          // Uploads the load process had to send again (a reused keep-alive connection reset): 0 on a calm machine.
          figures.load_resent_uploads = large.resent + small.resent
          await truncateSamples(service)

          log('send client')
          figures.send_client_samples_per_s = (await uploadDataset(service, await newDeviceToken(service.databaseUrl, `bench-send-${run}`), dataset)).samplesPerSecond
          figures.service_peak_rss_mib = service.peakRssBytes() / MiB
        } catch (error) {
          log(`the service's log, last lines:\n${service.output().split('\n').slice(-30).join('\n')}`)
          throw error
        } finally {
          await service.stop()
        }
        if (profileDir) {
          const files = fs.readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'))
          if (files.length > 0) profile = summarizeProfile(files.map((name) => path.join(profileDir, name)))
        }
        // The cost of durable commits: the same loads with EMBEDDED_FSYNC=off, beside the figures above.
        if (!databaseUrl) {
          log('fsync off')
          Object.assign(figures, await fsyncOffFigures({ dataDir: path.join(workDir, `service-${run}-fsync-off`), env: SERVICE_ENV, totalSamples: dataset.totalSamples, largeBodiesFile, largeClients: DEFAULT_CONCURRENCY, smallBodiesFile, smallClients: clients }))
        }
        for (const [codecCase, encoded] of codecBodies) figures[`decode_${codecCase.replace('+', '_')}_samples_per_s`] = decodeRate(encoded)
        figures.load_average_1m_at_end = os.loadavg()[0]!
        runFigures.push(figures)
        // Written after every run, so a run that fails (a shared machine) leaves the ones before it.
        if (run < runs) log(`results of ${run} run(s) so far: ${writeReport(benchReport(), values.out)}`)
      }
    } finally {
      await database.close()
    }
    if (profile) notes.service_cpu_profile = profile

    const report = benchReport()
    process.stdout.write(`${formatReport(report)}\n`)
    if (profile) {
      process.stdout.write(`\nservice CPU by area: ${profile.areas.map((area) => `${area.area} ${(area.share * 100).toFixed(1)} %`).join(', ')}\n`)
      process.stdout.write(`top functions:\n${profile.top.map((entry) => `  ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.fn}`).join('\n')}\n`)
    }
    log(`results: ${writeReport(report, values.out)}`)
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true })
  }
}

/** Empties the service's sample tables between its phases, so each starts from the same state. */
async function truncateSamples(service: BenchService): Promise<void> {
  const client = new pg.Client(service.databaseUrl)
  await client.connect()
  try {
    await client.query(`truncate ${RAW_HYPERTABLES.join(', ')}`)
  } finally {
    await client.end()
  }
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

runTool('bench', USAGE, () => main().then(() => 0)).then(
  () => process.exit(process.exitCode),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
