// How the service and its tools start and stop: start-up failures an operator can act on
// become one line, and SIGTERM/SIGINT run one orderly stop.
import { ConfigError } from './config.ts'
import { openDatabase, type Database } from './db/database.ts'
import { DataDirInUse, DataDirUnusable } from './db/embedded/data-dir-lock.ts'
import { EmbeddedEngineFailure, type EngineHealth } from './db/embedded/engine-health.ts'
import { migrate, TimescaleRequiredError } from './db/migrate.ts'
import { applyStoragePolicies, StoragePolicyError } from './db/policies.ts'
import type { Config } from './config.ts'
import type { Logger } from './logger.ts'
import { PortInUse } from './startup-ports.ts'
import { DeviceError } from './db/devices.ts'

// Errors whose message says what is wrong and what to do: no stack trace needed.
const OPERATOR_ERRORS = [ConfigError, TimescaleRequiredError, DataDirInUse, DataDirUnusable, EmbeddedEngineFailure, StoragePolicyError, DeviceError, PortInUse]

/** Prints why `tool` could not start or finish: one line for the errors above, all of it otherwise. */
export function reportFailure(tool: string, error: unknown): void {
  const known = OPERATOR_ERRORS.some((type) => error instanceof type)
  console.error(known ? `${tool}: ${(error as Error).message}` : error)
}

let earlySignal: NodeJS.Signals | undefined
const earlyListeners: Array<(signal: NodeJS.Signals) => void> = []

/**
 * Takes SIGTERM and SIGINT over from Node's default (exit at once) for a process that is still
 * starting: a signal then is remembered and answered by stopOnSignals' orderly stop, so a
 * supervisor's stop during start-up (or right after the ready line) never kills the process
 * between two steps, leaving the data directory's lock behind. Call first thing.
 */
export function holdStopSignals(): void {
  const remember = (signal: NodeJS.Signals): void => {
    // A second one means "now": the operator would rather lose the orderly stop than wait.
    if (earlySignal) process.exit(1)
    earlySignal = signal
  }
  earlyListeners.push(remember)
  process.on('SIGTERM', remember)
  process.on('SIGINT', remember)
}

/**
 * Runs `stop` on the first SIGTERM or SIGINT, then exits 0. Later signals are ignored
 * (`on`, not `once`): a second Ctrl-C while draining must not kill the process mid-write.
 *
 * With `engine` (the embedded database's health), a failed engine stops the process the same
 * way, after one log line that names the cause, and exits 1: the engine cannot recover inside
 * this process, and a supervisor (Docker, Kubernetes, systemd) restarts it.
 */
export function stopOnSignals(stop: (reason: NodeJS.Signals | 'engine failure') => Promise<void>, engine?: { health: EngineHealth; logger: Logger }): void {
  let stopping = false
  const handle = (reason: NodeJS.Signals | 'engine failure', exitCode: number): void => {
    if (stopping) return
    stopping = true
    void stop(reason)
      .catch((error: unknown) => engine?.logger.error({ err: error }, 'error while stopping'))
      .then(() => process.exit(exitCode))
  }
  process.on('SIGTERM', (signal) => handle(signal, 0))
  process.on('SIGINT', (signal) => handle(signal, 0))
  // A signal that came while the process was starting is answered now, with the orderly stop.
  for (const listener of earlyListeners) {
    process.removeListener('SIGTERM', listener)
    process.removeListener('SIGINT', listener)
  }
  if (earlySignal) handle(earlySignal, 0)
  void engine?.health.failed.then((failure) => {
    engine.logger.fatal({ reason: failure.reason }, failure.message)
    handle('engine failure', 1)
  })
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
    // The engine failing under the migrations: its cause, not the SQL error it left behind.
    throw database.embedded?.health.failure ?? error
  }
}
