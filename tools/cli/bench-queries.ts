// npm run bench:queries [-- --devices N --days D --acceleration-hours H --runs R --database-url URL]
//
// Every SQL query of the samples dashboard and of the device-silent alert on a simulated
// month of several phones (locations, activity states, acceleration bursts), after the jobs
// have run: p50/p95 per query and dashboard range, as a Markdown table. Also times places()
// over the whole month per device, and prints the bytes per sample of each table.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openBenchDatabase } from '../bench/bench-database.ts'
import { dashboardQueries, formatTimings, loadSimulatedDevices, runAllJobs, timeQueries } from '../bench/dashboard-queries.ts'
import { storageFigures, formatStorage } from '../bench/storage-figures.ts'
import { loadConfig } from '../../src/config.ts'
import { applyStoragePolicies } from '../../src/db/policies.ts'
import { createLogger } from '../../src/logger.ts'
import { parseToolArgs, runTool } from '../../src/cli/usage.ts'

const USAGE = `Usage: npm run bench:queries -- [options]

  --devices N             simulated phones; default 3
  --days D                days of data, ending today; default 30
  --acceleration-hours H  hours of 50 Hz acceleration per phone and day; default 0.25
  --runs R                timed runs per query and range (after one warm-up); default 7
  --database-url URL      a scratch TimescaleDB server database instead of the embedded engine
  -h, --help              this text`

const LIMIT_MS = 200

async function main(): Promise<void> {
  const { values } = parseToolArgs({
    options: {
      devices: { type: 'string' },
      days: { type: 'string' },
      'acceleration-hours': { type: 'string' },
      runs: { type: 'string' },
      'database-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const devices = Number(values.devices ?? 3)
  const days = Number(values.days ?? 30)
  const accelerationHoursPerDay = Number(values['acceleration-hours'] ?? 0.25)
  const runs = Number(values.runs ?? 7)
  const logger = createLogger({ logLevel: 'warn' })
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-queries-'))
  const database = await openBenchDatabase({ databaseUrl: values['database-url'], dataDir, poolSize: 2, logger })
  try {
    // The service's default policies (compression ages), as at its start.
    await applyStoragePolicies(database.pool, loadConfig({}), logger)
    const now = new Date()
    const started = performance.now()
    const ids = await loadSimulatedDevices(database.pool, { devices, days, accelerationHoursPerDay, endDate: now }, (text) => console.error(text))
    console.error(`loaded in ${((performance.now() - started) / 1000).toFixed(0)} s; running the jobs (refresh, backfill, compression)`)
    await runAllJobs(database.pool)
    await runAllJobs(database.pool)
    console.log(`\n${database.kind} engine, ${devices} devices × ${days} days, ${accelerationHoursPerDay} h of 50 Hz a day\n`)
    console.log(formatStorage(await storageFigures(database.pool)))
    console.log('')
    const timings = await timeQueries(database.pool, dashboardQueries(), ids, now, runs)
    console.log(formatTimings(timings, LIMIT_MS))
    const placesStarted = performance.now()
    for (const id of ids) await database.pool.query('select count(*) from places($1, $2, $3)', [id, new Date(now.getTime() - days * 86_400_000), now])
    console.log(`\nplaces() over ${days} days: ${((performance.now() - placesStarted) / ids.length).toFixed(0)} ms per device`)
  } finally {
    await database.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

runTool('bench:queries', USAGE, () => main().then(() => 0)).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
