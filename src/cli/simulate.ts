// npm run simulate -- --days N --out DIR [--seed S] [--acceleration-hours H] [--start YYYY-MM-DD]
// Writes location.jsonl, activity.jsonl and acceleration.jsonl for one simulated person
// (src/sim/), shows progress on stderr and prints what it wrote.
import { parseArgs } from 'node:util'
import { formatBytes } from '../byte-size.ts'
import { formatStats, SIMULATION_DEFAULTS, simulateToFiles, type SimulationProgress } from '../sim/index.ts'

const USAGE = `usage: npm run simulate -- --days N --out DIR [--seed S] [--acceleration-hours H] [--start YYYY-MM-DD]

  --days N                 whole days to simulate (required)
  --out DIR                directory for location.jsonl, activity.jsonl, acceleration.jsonl, ground-truth.json (required)
  --seed S                 32-bit integer seed; same seed, same bytes (default ${SIMULATION_DEFAULTS.seed})
  --acceleration-hours H   hours of 50 Hz acceleration per day, 0..24 (default ${SIMULATION_DEFAULTS.accelerationHoursPerDay})
  --start YYYY-MM-DD       first day, from local midnight in Berlin (default ${SIMULATION_DEFAULTS.startDate})`

async function main(): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      options: {
        days: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        'acceleration-hours': { type: 'string' },
        start: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (error) {
    return usageError((error as Error).message)
  }
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (values.days === undefined || values.out === undefined) return usageError('--days and --out are required')
  const options = {
    days: Number(values.days),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    accelerationHoursPerDay: values['acceleration-hours'] === undefined ? undefined : Number(values['acceleration-hours']),
    startDate: values.start,
  }

  const startedMs = performance.now()
  const showProgress = (progress: SimulationProgress, done = false) => {
    const seconds = (performance.now() - startedMs) / 1000
    const text = `day ${progress.dayIndex + 1}/${options.days}  ${progress.lines.toLocaleString('en-US')} lines  ${formatBytes(progress.bytes)}  ${Math.round(progress.lines / Math.max(seconds, 1e-3)).toLocaleString('en-US')} lines/s`
    // A terminal gets one line redrawn in place; a log gets a line every few seconds.
    process.stderr.write(process.stderr.isTTY ? `\r${text}\x1b[K${done ? '\n' : ''}` : `${text}\n`)
  }
  let result
  try {
    result = await simulateToFiles(options, values.out, { everyMs: process.stderr.isTTY ? 250 : 5000, report: (progress) => showProgress(progress) })
  } catch (error) {
    if (error instanceof RangeError) return usageError(error.message)
    throw error
  }
  const { stats, files } = result
  const lines = stats.samplesByKind.location + stats.samplesByKind.activity + stats.samplesByKind.acceleration
  showProgress({ dayIndex: options.days - 1, lines, bytes: files.reduce((sum, file) => sum + file.bytes, 0) }, true)
  console.log(formatStats(stats, files, performance.now() - startedMs))
  console.log(`ground truth (stays, phone off): ${result.groundTruthPath}`)
  return 0
}

function usageError(message: string): number {
  console.error(`simulate: ${message}\n\n${USAGE}`)
  return 2
}

process.exitCode = await main()
