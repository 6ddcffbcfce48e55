// The embedded default: TimescaleDB inside this process (PGlite built with the TimescaleDB
// extension, in a thread of its own: engine.ts), its files under DATA_DIR, served on the
// PostgreSQL wire protocol so that the service's own pool, psql and Grafana all reach it the
// same way.
import path from 'node:path'
import type { Logger } from 'pino'
import { acquireDataDirLock } from './data-dir-lock.ts'
import type { SyncCall } from './durable-fs.ts'
import type { EngineHealth } from './engine-health.ts'
import { EngineThread } from './engine.ts'
import { postgresPassword, SqlCredentials } from './sql-credentials.ts'
import { serveWireProtocol, type WireServer } from './wire-server.ts'

export interface EmbeddedDatabase {
  /** postgres:// URL of the wire server for this process's own pool (with its in-memory password). */
  url: string
  /** Where the `postgres` password for SQL clients is kept; undefined when EMBEDDED_PG_PASSWORD sets it. */
  passwordFile: string | undefined
  /** The engine itself, for what only its own API offers (the benchmark's bulk path, its heap size). */
  engine: EngineThread
  pgdataDir: string
  server: WireServer
  /** Whether the engine still works; main.ts stops the process when it fails. */
  health: EngineHealth
  close(): Promise<void>
}

export interface EmbeddedOptions {
  dataDir: string
  host: string
  port: number
  idleInTransactionTimeoutMs: number
  /** EMBEDDED_STATEMENT_TIMEOUT for outside SQL clients; 0: none. */
  statementTimeoutMs?: number
  /** EMBEDDED_FSYNC: sync each commit's WAL (and checkpoints) to stable storage. */
  fsync: boolean
  /** Sees every sync made (tests count them). */
  onSync?: (call: SyncCall) => void
  maxMessageBytes: number
  /** EMBEDDED_PG_PASSWORD; unset: generated into DATA_DIR/postgres.password. */
  password: string | undefined
  logger: Logger
}

export async function startEmbeddedDatabase(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const lock = acquireDataDirLock(options.dataDir)
  const pgdataDir = path.join(options.dataDir, 'pgdata')
  let engine: EngineThread | undefined
  try {
    engine = await EngineThread.start({
      dataDir: options.dataDir,
      pgdataDir,
      fsync: options.fsync,
      onSync: options.onSync,
      onReopened: (reason, milliseconds) => options.logger.info({ reason, reopenMs: Math.round(milliseconds) }, 'embedded database: reopened after stopping a statement'),
    })
    const { password, file: passwordFile } = postgresPassword(options.dataDir, options.password)
    const credentials = await SqlCredentials.create(password)
    const server = await serveWireProtocol(engine, { ...options, statementTimeoutMs: options.statementTimeoutMs ?? 0, credentials, logger: options.logger })
    lock.publish({ host: server.host, port: server.port })
    options.logger.info({ user: 'postgres', passwordFile: passwordFile ?? 'EMBEDDED_PG_PASSWORD' }, 'embedded database: SQL clients log in with SCRAM-SHA-256')
    const opened = engine
    return {
      url: embeddedUrl(server.host, server.port, credentials.internalPassword),
      passwordFile,
      engine: opened,
      pgdataDir,
      server,
      health: opened.health,
      async close() {
        try {
          await server.close()
          await opened.close()
        } finally {
          // Even when closing failed: this process is about to end and will not touch the files.
          lock.release()
        }
      },
    }
  } catch (error) {
    await engine?.close().catch(() => undefined)
    lock.release()
    throw error
  }
}

export function embeddedUrl(host: string, port: number, password: string | undefined): string {
  const credentials = password === undefined ? 'postgres' : `postgres:${encodeURIComponent(password)}`
  return `postgres://${credentials}@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`
}
