// Where the database is: the server named by DATABASE_URL, or the embedded TimescaleDB.
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import { onThisHost, readLockHolder } from './embedded/data-dir-lock.ts'
import { embeddedUrl, startEmbeddedDatabase, type EmbeddedDatabase } from './embedded/index.ts'
import { readPasswordFile } from './embedded/sql-credentials.ts'
import { createPool, type Pool } from './pool.ts'

export interface Database {
  url: string
  pool: Pool
  /** Set when this process runs the embedded database itself. */
  embedded: EmbeddedDatabase | undefined
  close(): Promise<void>
}

/**
 * Opens the database for the service. With `reuseRunning` (the command-line tools), an
 * embedded database already run by another process on the same DATA_DIR is used through
 * its SQL port instead of being opened a second time.
 */
export async function openDatabase(config: Config, logger: Logger, { reuseRunning = false } = {}): Promise<Database> {
  let url = config.databaseUrl
  let embedded: EmbeddedDatabase | undefined
  if (!url) {
    const running = reuseRunning ? readLockHolder(config.dataDir) : undefined
    // A holder on another host (a container beside this one on a shared volume) serves on its
    // own loopback: this process cannot reach it, and taking the lock below says so.
    if (running?.host && running.port && onThisHost(running)) {
      url = embeddedUrl(running.host, running.port, config.embeddedPgPassword ?? readPasswordFile(config.dataDir))
    } else {
      embedded = await startEmbeddedDatabase({
        dataDir: config.dataDir,
        host: config.embeddedPgHost,
        // A tool opening the files itself serves them only to itself, on any free port.
        port: reuseRunning ? 0 : config.embeddedPgPort,
        idleInTransactionTimeoutMs: config.embeddedIdleInTransactionTimeoutMs,
        statementTimeoutMs: config.embeddedStatementTimeoutMs,
        fsync: config.embeddedFsync,
        maxMessageBytes: config.embeddedMaxMessageBytes,
        password: config.embeddedPgPassword,
        logger,
      })
      url = embedded.url
    }
  }
  const pool = createPool(url, config, logger)
  return {
    url,
    pool,
    embedded,
    async close() {
      await pool.end()
      await embedded?.close()
    },
  }
}

/** The URL with any password masked, for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable DATABASE_URL)'
  }
}
