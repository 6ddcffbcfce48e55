// How the service and its tools start and stop: start-up failures an operator can act on
// become one line, and SIGTERM/SIGINT run one orderly stop.
import { ConfigError } from './config.ts'
import { openDatabase, type Database } from './db/database.ts'
import { DataDirInUse } from './db/embedded/data-dir-lock.ts'
import { migrate, TimescaleRequiredError } from './db/migrate.ts'
import { applyStoragePolicies, StoragePolicyError } from './db/policies.ts'
import type { Config } from './config.ts'
import type { Logger } from './logger.ts'
import { PortInUse } from './startup-ports.ts'

export class UsageError extends Error {
  override name = 'UsageError'
}

// Errors whose message says what is wrong and what to do: no stack trace needed.
const OPERATOR_ERRORS = [ConfigError, TimescaleRequiredError, DataDirInUse, StoragePolicyError, UsageError, PortInUse]

/** Prints why `tool` could not start or finish: one line for the errors above, all of it otherwise. */
export function reportFailure(tool: string, error: unknown): void {
  const known = OPERATOR_ERRORS.some((type) => error instanceof type)
  console.error(known ? `${tool}: ${(error as Error).message}` : error)
}

/**
 * Runs `stop` on the first SIGTERM or SIGINT, then exits 0. Later signals are ignored
 * (`on`, not `once`): a second Ctrl-C while draining must not kill the process mid-write.
 */
export function stopOnSignals(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    void stop(signal).then(() => process.exit(0))
  }
  process.on('SIGTERM', handle)
  process.on('SIGINT', handle)
}

/**
 * The database of a long-running process (the service, `npm run db`): opened, migrated, and
 * with the storage policies of this configuration applied.
 */
export async function openPreparedDatabase(config: Config, logger: Logger): Promise<Database> {
  const database = await openDatabase(config, logger)
  try {
    await migrate(database.pool, logger)
    await applyStoragePolicies(database.pool, config, logger)
    return database
  } catch (error) {
    await database.close()
    throw error
  }
}
