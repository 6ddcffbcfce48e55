// Shared start-up of the command-line tools that need the database: config, a quiet logger,
// the database (reusing a running embedded instance), migrations, and one clean exit path.
import { loadConfig, type Config } from '../config.ts'
import { openDatabase, type Database } from '../db/database.ts'
import { migrate } from '../db/migrate.ts'
import { reportFailure } from '../lifecycle.ts'
import { createLogger, type Logger } from '../logger.ts'
import { UsageError } from './usage.ts'

/** Runs `work` on the migrated database; resolves with the exit status (1 once a failure is reported). A UsageError passes through to runTool. */
export async function runWithDatabase(tool: string, work: (database: Database, config: Config, logger: Logger) => Promise<void>): Promise<number> {
  let database: Database | undefined
  try {
    // Tools print their own results; the log only speaks up for problems unless LOG_LEVEL asks.
    const config = loadConfig(process.env, { logLevel: 'warn' })
    const logger = createLogger(config)
    database = await openDatabase(config, logger, { reuseRunning: true })
    await migrate(database.pool, logger)
    await work(database, config, logger)
    return 0
  } catch (error) {
    if (error instanceof UsageError) throw error
    reportFailure(tool, error)
    return 1
  } finally {
    await database?.close()
  }
}
