// npm run simulate -- --days N --out DIR [--seed S] [--acceleration-hours H] [--start YYYY-MM-DD]
// Writes location.jsonl, activity.jsonl and acceleration.jsonl for one simulated person
// (src/sim/), shows progress on stderr and prints what it wrote.
import { formatBytes } from '../byte-size.ts'
import { formatStats, SIMULATION_DEFAULTS, simulateToFiles, type SimulationProgress } from '../sim/index.ts'
import { perSecond, progressMode, startProgress } from './progress.ts'
import { parseToolArgs, runTool, UsageError } from './usage.ts'

const USAGE = `usage: npm run simulate -- --days N --out DIR [--seed S] [--acceleration-hours H] [--start YYYY-MM-DD]

  --days N                 whole days to simulate (required)
  --out DIR                directory for location.jsonl, activity.jsonl, acceleration.jsonl, ground-truth.json (required)
  --seed S                 32-bit integer seed; same seed, same bytes (default ${SIMULATION_DEFAULTS.seed})
  --acceleration-hours H   hours of 50 Hz acceleration per day, 0..24 (default ${SIMULATION_DEFAULTS.accelerationHoursPerDay})
  --start YYYY-MM-DD       first day, from local midnight in Berlin (default ${SIMULATION_DEFAULTS.startDate})`

await runTool('simulate', USAGE, async () => {
  const { values } = parseToolArgs({
    options: {
      days: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      'acceleration-hours': { type: 'string' },
      start: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (values.days === undefined || values.out === undefined) throw new UsageError('--days and --out are required')
  const options = {
    days: Number(values.days),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    accelerationHoursPerDay: values['acceleration-hours'] === undefined ? undefined : Number(values['acceleration-hours']),
    startDate: values.start,
  }

  const startedMs = performance.now()
  // `finished`: the last day is done, the bar full.
  const progress = startProgress<SimulationProgress & { finished?: boolean }>({
    mode: progressMode(process.stderr),
    output: process.stderr,
    tool: 'simulate',
    total: options.days,
    initial: { dayIndex: 0, lines: 0, bytes: 0 },
    position: (state) => (state.finished ? options.days : state.dayIndex),
    describe: (state, seconds) =>
      `day ${state.dayIndex + 1}/${options.days}, ${state.lines.toLocaleString('en-US')} lines, ${formatBytes(state.bytes)}, ${perSecond(state.lines, seconds).toLocaleString('en-US')} lines/s`,
  })
  let result
  try {
    // Reports often; the display decides how often a log gets a line.
    result = await simulateToFiles(options, values.out, { everyMs: 250, report: (state) => progress.update(state) })
  } catch (error) {
    progress.stop()
    // simulateToFiles checks the options' ranges (days, seed, hours, start).
    throw error instanceof RangeError ? new UsageError(error.message) : error
  }
  const { stats, files } = result
  const lines = stats.samplesByKind.location + stats.samplesByKind.activity + stats.samplesByKind.acceleration
  progress.update({ dayIndex: options.days - 1, lines, bytes: files.reduce((sum, file) => sum + file.bytes, 0), finished: true })
  progress.stop()
  console.log(formatStats(stats, files, performance.now() - startedMs))
  console.log(`ground truth (stays, phone off): ${result.groundTruthPath}`)
  return 0
})
