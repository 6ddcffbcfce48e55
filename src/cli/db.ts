// npm run db: only the embedded TimescaleDB, as a process of its own, on the PostgreSQL wire
// protocol at EMBEDDED_PG_HOST:EMBEDDED_PG_PORT (loopback by default). A local TimescaleDB for
// psql and Grafana, and a database the service can use through DATABASE_URL while it can be
// stopped and started on its own. It applies the migrations and runs TimescaleDB's jobs
// (nothing else would: the service leaves them to the server when DATABASE_URL is set).
import { ConfigError, loadConfig } from '../config.ts'
import { openDatabase } from '../db/database.ts'
import { DataDirInUse } from '../db/embedded/data-dir-lock.ts'
import { startJobRunner } from '../db/job-runner.ts'
import { migrate, TimescaleRequiredError } from '../db/migrate.ts'
import { applyStoragePolicies, StoragePolicyError } from '../db/policies.ts'
import { createLogger } from '../logger.ts'

async function main(): Promise<void> {
  // The embedded database whatever DATABASE_URL says: that variable names this process's
  // address for the service, not a server for this command to use.
  const config = { ...loadConfig(), databaseUrl: undefined }
  const logger = createLogger(config)
  const database = await openDatabase(config, logger)
  try {
    await migrate(database.pool, logger)
    await applyStoragePolicies(database.pool, config, logger)
  } catch (error) {
    await database.close()
    throw error
  }
  const jobs = startJobRunner(database.pool, logger)
  logger.info({ url: database.url, dataDir: config.dataDir }, 'database ready')

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping the database')
    await jobs.stop()
    // Closes client connections (they see the server go away) and PGlite, which syncs its files.
    await database.close()
    logger.info('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof TimescaleRequiredError || error instanceof DataDirInUse || error instanceof StoragePolicyError
  console.error(known ? `db: ${(error as Error).message}` : error)
  process.exit(1)
})
