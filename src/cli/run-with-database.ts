// Shared start-up of the command-line tools that need the database: config, a quiet logger,
// the database (reusing a running embedded instance), migrations, and one clean exit path.
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { openDatabase, type Database } from '../db/database.ts'
import { DataDirInUse } from '../db/embedded/data-dir-lock.ts'
import { migrate, TimescaleRequiredError } from '../db/migrate.ts'
import { createLogger, type Logger } from '../logger.ts'

export class UsageError extends Error {
  override name = 'UsageError'
}

const KNOWN_ERRORS = [ConfigError, TimescaleRequiredError, DataDirInUse, UsageError]

export async function runWithDatabase(tool: string, work: (database: Database, config: Config, logger: Logger) => Promise<void>): Promise<void> {
  let database: Database | undefined
  try {
    const config = loadConfig()
    // Tools print their own results; the log only speaks up for problems unless asked.
    const logger = createLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' })
    database = await openDatabase(config, logger, { reuseRunning: true })
    await migrate(database.pool, logger)
    await work(database, config, logger)
  } catch (error) {
    const known = KNOWN_ERRORS.some((type) => error instanceof type)
    console.error(known ? `${tool}: ${(error as Error).message}` : error)
    process.exitCode = 1
  } finally {
    await database?.close()
  }
}
