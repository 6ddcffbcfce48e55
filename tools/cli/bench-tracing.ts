// npm run bench:tracing [-- --uploads N --rounds R --clients C --ratio 0.1 --database-url URL]
//
// The cost of tracing, for docs/operations.md: three instances of the service on their own
// embedded databases, traces off / exported at a sampling ratio / exported for every upload
// (to an OTLP sink in this process), each sent the same 100-sample uploads. With
// --database-url the three write to that server instead (each as a device of its own), and the
// CPU figures are the service's alone. Rounds alternate
// between the instances so that whatever else the machine does slows all three alike; the
// table quotes medians over the rounds and the CPU cost relative to tracing off.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { encodeBodies, lineBatches } from '../bench/bodies.ts'
import { buildDataset } from '../bench/dataset.ts'
import { addDevice } from '../../src/db/devices.ts'
import { startBenchService, type BenchService } from '../bench/service-process.ts'
import { percentile, writeBodies } from '../bench/upload-load.ts'
import { measureRound, startOtlpSink, tracingModes, type RoundFigures } from '../bench/tracing-overhead.ts'
import { parseOrExit, parseToolArgs, UsageError, wholeNumberFlag } from '../../src/cli/usage.ts'

const SAMPLES_PER_UPLOAD = 100
// As in npm run bench: the per-device rate limit would pace one device to 2000 samples/s.
const SERVICE_ENV = { RATE_LIMIT_SAMPLES_PER_SECOND: '100000000', MAX_UPLOADS_IN_FLIGHT: '256' }

const USAGE = 'usage: npm run bench:tracing [-- --uploads N --rounds R --clients C --ratio 0.1 --database-url URL]\nthe cost of tracing: three services (traces off, sampled at --ratio, all), the same uploads (see docs/operations.md)'
const { values, uploadsPerRound, rounds, clients, ratio } = parseOrExit('bench:tracing', USAGE, () => {
  const { values } = parseToolArgs({
    options: {
      uploads: { type: 'string', default: '300' },
      rounds: { type: 'string', default: '5' },
      clients: { type: 'string', default: '8' },
      ratio: { type: 'string', default: '0.1' },
      'database-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const ratio = Number(values.ratio)
  if (!values.help && !(ratio > 0 && ratio < 1)) throw new UsageError(`--ratio must be between 0 and 1, got ${values.ratio}`)
  return {
    values,
    uploadsPerRound: wholeNumberFlag('--uploads', values.uploads, { min: 1 }),
    rounds: wholeNumberFlag('--rounds', values.rounds, { min: 1 }),
    clients: wholeNumberFlag('--clients', values.clients, { min: 1 }),
    ratio,
  }
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}

const databaseUrl = values['database-url']
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-bench-tracing-'))
const log = (message: string) => process.stderr.write(`bench:tracing: ${message}\n`)
const sink = await startOtlpSink()
const services: BenchService[] = []
try {
  // One warm-up round (JIT, first chunks of each hypertable) plus the measured ones; every
  // round sends new samples, so no upload is a duplicate.
  const uploadsNeeded = (rounds + 1) * uploadsPerRound
  const perKind = Math.ceil((uploadsNeeded * SAMPLES_PER_UPLOAD) / 3)
  log(`generating ${perKind * 3} samples`)
  const bodies = encodeBodies('collection', lineBatches(buildDataset(perKind, path.join(workDir, 'samples')), SAMPLES_PER_UPLOAD)).bodies
  // An even mix of the kinds in every round.
  const mixed = Array.from({ length: uploadsNeeded }, (_, index) => bodies[(index % 3) * Math.floor(bodies.length / 3) + Math.floor(index / 3)]!)

  const modes = tracingModes(sink.endpoint, ratio)
  for (const mode of modes) {
    log(`starting the service with traces ${mode.name}`)
    services.push(await startBenchService({ dataDir: path.join(workDir, `service-${services.length}`), databaseUrl, env: { ...SERVICE_ENV, ...mode.env } }))
  }
  const tokens = databaseUrl ? await addDevices(databaseUrl, modes.length) : services.map((service) => service.localToken!)
  const figures: RoundFigures[][] = modes.map(() => [])
  for (let round = 0; round <= rounds; round++) {
    const slice = mixed.slice(round * uploadsPerRound, (round + 1) * uploadsPerRound)
    const sliceFile = writeBodies(path.join(workDir, 'bodies', `round-${round}.bin`), slice)
    // Alternate which instance goes first, so none always meets the same moment of the machine.
    const order = modes.map((_, index) => (index + round) % modes.length)
    for (const index of order) {
      const result = await measureRound(services[index]!, tokens[index]!, sliceFile, slice.length, SAMPLES_PER_UPLOAD, clients)
      if (round > 0) figures[index]!.push(result)
    }
    log(round === 0 ? 'warm-up done' : `round ${round} of ${rounds} done`)
  }

  const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 0.5)
  const offCpu = median(figures[0]!.map((figure) => figure.cpuMsPerUpload))
  const rows = modes.map((mode, index) => {
    const cpu = median(figures[index]!.map((figure) => figure.cpuMsPerUpload))
    return [
      `traces ${mode.name}`,
      cpu.toFixed(2),
      index === 0 ? '-' : `${(((cpu - offCpu) / offCpu) * 100).toFixed(1)} %`,
      Math.round(median(figures[index]!.map((figure) => figure.samplesPerSecond))).toLocaleString('en-US'),
      median(figures[index]!.map((figure) => figure.p50Ms)).toFixed(1),
      median(figures[index]!.map((figure) => figure.p99Ms)).toFixed(1),
      figures[index]!.map((figure) => figure.cpuMsPerUpload.toFixed(2)).join(' '),
    ]
  })
  const header = ['service', 'CPU ms / upload', 'CPU vs off', 'samples/s', 'p50 ms', 'p99 ms', 'CPU ms / upload by round']
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`
  process.stdout.write(
    [
      `${rounds} rounds of ${uploadsPerRound} uploads of ${SAMPLES_PER_UPLOAD} samples, ${clients} clients, ${databaseUrl ? 'database server' : 'embedded database'}, medians; OTLP exports received: ${sink.exports}`,
      line(header),
      `|${widths.map((width, column) => '-'.repeat(width + 1) + (column === 0 ? '-' : ':')).join('|')}|`,
      ...rows.map(line),
    ].join('\n') + '\n',
  )
} finally {
  await Promise.all(services.map((service) => service.stop()))
  await sink.close()
  fs.rmSync(workDir, { recursive: true, force: true })
}

/** One device per instance on the shared server, so that their samples never collide. */
async function addDevices(url: string, count: number): Promise<string[]> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    const tokens: string[] = []
    for (let index = 0; index < count; index++) tokens.push((await addDevice(client, `bench-tracing-${Date.now()}-${index}`)).token)
    return tokens
  } finally {
    await client.end()
  }
}

