// npm run simulate -- --days N --out DIR [--seed S] [--acceleration-hours H] [--start YYYY-MM-DD]
// Writes location.jsonl, activity.jsonl and acceleration.jsonl for one simulated person
// (src/sim/), shows progress on stderr and prints what it wrote.
import { parseArgs } from 'node:util'
import { collectStats, formatBytes, formatSampleLine, formatStats, generateSamples, openSampleFiles, SIMULATION_DEFAULTS } from '../sim/index.ts'

const USAGE = `usage: npm run simulate -- --days N --out DIR [--seed S] [--acceleration-hours H] [--start YYYY-MM-DD]

  --days N                 whole days to simulate (required)
  --out DIR                directory for location.jsonl, activity.jsonl, acceleration.jsonl (required)
  --seed S                 32-bit integer seed; same seed, same bytes (default ${SIMULATION_DEFAULTS.seed})
  --acceleration-hours H   hours of 50 Hz acceleration per day, 0..24 (default ${SIMULATION_DEFAULTS.accelerationHoursPerDay})
  --start YYYY-MM-DD       first day, from local midnight in Berlin (default ${SIMULATION_DEFAULTS.startDate})`

const PROGRESS_EVERY_MS = process.stderr.isTTY ? 250 : 5000

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
      allowPositionals: false,
    }))
  } catch (error) {
    return usageError((error as Error).message)
  }
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (values.days === undefined || values.out === undefined) return usageError('--days and --out are required')
  const days = Number(values.days)
  const seed = values.seed === undefined ? undefined : Number(values.seed)
  const accelerationHoursPerDay = values['acceleration-hours'] === undefined ? undefined : Number(values['acceleration-hours'])
  const startDate = values.start

  let dayIndex = 0
  let samples
  try {
    samples = generateSamples({ days, seed, accelerationHoursPerDay, startDate, onDay: (day) => (dayIndex = day.index) })
  } catch (error) {
    return usageError((error as Error).message)
  }

  const files = await openSampleFiles(values.out)
  const collector = collectStats()
  const startedMs = performance.now()
  let lines = 0
  let nextProgressMs = startedMs + PROGRESS_EVERY_MS
  const progress = (done: boolean) => {
    const seconds = (performance.now() - startedMs) / 1000
    const text = `day ${Math.min(dayIndex + 1, days)}/${days}  ${lines.toLocaleString('en-US')} lines  ${formatBytes(files.bytesWritten())}  ${Math.round(lines / Math.max(seconds, 1e-3)).toLocaleString('en-US')} lines/s`
    if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K${done ? '\n' : ''}`)
    else process.stderr.write(`${text}\n`)
  }

  for (const sample of samples) {
    collector.record(sample)
    const waitForDisk = files.write(sample.kind, formatSampleLine(sample))
    if (waitForDisk) await waitForDisk
    // Looking at the clock for every 50 Hz sample would cost more than the progress is worth.
    if (++lines % 4096 === 0 && performance.now() >= nextProgressMs) {
      progress(false)
      nextProgressMs = performance.now() + PROGRESS_EVERY_MS
    }
  }
  const written = await files.close()
  progress(true)
  console.log(formatStats(collector.stats(), written, performance.now() - startedMs))
  return 0
}

function usageError(message: string): number {
  console.error(`simulate: ${message}\n\n${USAGE}`)
  return 2
}

process.exitCode = await main()
