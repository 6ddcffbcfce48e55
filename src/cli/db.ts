// npm run db: only the embedded TimescaleDB, as a process of its own, on the PostgreSQL wire
// protocol at EMBEDDED_PG_HOST:EMBEDDED_PG_PORT (loopback by default). A local TimescaleDB for
// psql and Grafana, and a database the service can use through DATABASE_URL while it can be
// stopped and started on its own. It applies the migrations and runs TimescaleDB's jobs
// (nothing else would: the service leaves them to the server when DATABASE_URL is set).
import { loadConfig } from '../config.ts'
import { redactedUrl } from '../db/database.ts'
import { startJobRunner } from '../db/job-runner.ts'
import { openPreparedDatabase, reportFailure, stopOnSignals } from '../lifecycle.ts'
import { createLogger } from '../logger.ts'
import { parseToolArgs, runTool } from './usage.ts'

const USAGE = 'usage: npm run db\nserves the embedded TimescaleDB of DATA_DIR on EMBEDDED_PG_HOST:EMBEDDED_PG_PORT until SIGTERM or Ctrl-C (see docs/operations.md)'

async function main(): Promise<void> {
  // The embedded database whatever DATABASE_URL says: that variable names this process's
  // address for the service, not a server for this command to use.
  const config = { ...loadConfig(), databaseUrl: undefined }
  const logger = createLogger(config)
  const database = await openPreparedDatabase(config, logger)
  const jobs = startJobRunner(database.pool, logger)
  // Masked: the URL carries this process's own password; SQL clients use DATA_DIR/postgres.password.
  logger.info({ url: redactedUrl(database.url), dataDir: config.dataDir }, 'database ready')

  stopOnSignals(async (signal) => {
    logger.info({ signal }, 'stopping the database')
    await jobs.stop()
    // Closes client connections (they see the server go away) and PGlite, which syncs its files.
    await database.close()
    logger.info('stopped')
  }, database.embedded && { health: database.embedded.health, logger })
}

await runTool('db', USAGE, async () => {
  const { values } = parseToolArgs({ options: { help: { type: 'boolean', short: 'h', default: false } } })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  try {
    await main()
  } catch (error) {
    reportFailure('db', error)
    // Whatever was started (a half-open engine, its server) must not keep the process alive.
    process.exit(1)
  }
  // Serving now, until a signal: stopOnSignals decides the exit status then.
  return 0
})
