// Shared start-up of the command-line tools that need the database: config, a quiet logger,
// the database (reusing a running embedded instance), migrations, and one clean exit path.
import { loadConfig, type Config } from '../config.ts'
import { openDatabase, type Database } from '../db/database.ts'
import { migrate } from '../db/migrate.ts'
import { reportFailure } from '../lifecycle.ts'
import { createLogger, type Logger } from '../logger.ts'

export { UsageError } from './usage.ts'

export async function runWithDatabase(tool: string, work: (database: Database, config: Config, logger: Logger) => Promise<void>): Promise<void> {
  let database: Database | undefined
  try {
    // Tools print their own results; the log only speaks up for problems unless LOG_LEVEL asks.
    const config = loadConfig(process.env, { logLevel: 'warn' })
    const logger = createLogger(config)
    database = await openDatabase(config, logger, { reuseRunning: true })
    await migrate(database.pool, logger)
    await work(database, config, logger)
  } catch (error) {
    reportFailure(tool, error)
    process.exitCode = 1
  } finally {
    await database?.close()
  }
}
