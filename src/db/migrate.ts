// Applies sql/NNN_*.sql in order, each once, each in its own transaction, under an advisory
// lock so that several replicas starting together do not race. The SQL files are the schema;
// this file only decides which of them still have to run.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { transaction, withClient, type Pool } from './pool.ts'
import type { Logger } from '../logger.ts'

// Two levels up from src/db/ and from dist/db/ alike.
const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url))

// Any fixed number works; this one spells "tsmigrat" in hex-ish and collides with nothing of ours.
const MIGRATION_LOCK_KEY = 0x7473_6d69

export class TimescaleRequiredError extends Error {
  override name = 'TimescaleRequiredError'
}

export interface Migration {
  version: string
  file: string
}

export function listMigrations(dir = SQL_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d+_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: file.replace(/\.sql$/, ''), file: path.join(dir, file) }))
}

/** Applies what is pending; returns the versions applied now. */
export async function migrate(pool: Pool, logger: Logger): Promise<string[]> {
  return withClient(pool, async (client) => {
    // Before anything is written: on a server without TimescaleDB, change nothing.
    await assertTimescaleAvailable(client)
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    let failure: unknown
    try {
      const applied = await appliedVersions(client)
      const pending = listMigrations().filter((migration) => !applied.has(migration.version))
      for (const migration of pending) {
        const started = Date.now()
        await transaction(client, async () => {
          // Created inside the first migration's transaction, so a failed first migration
          // leaves no trace at all.
          await client.query('create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())')
          await client.query(fs.readFileSync(migration.file, 'utf8'))
          await client.query('insert into schema_migrations (version) values ($1)', [migration.version])
        }).catch((error: Error) => {
          throw new Error(`migration ${migration.version} failed: ${error.message}`, { cause: error })
        })
        logger.info({ migration: migration.version, ms: Date.now() - started }, 'migration applied')
      }
      return pending.map((migration) => migration.version)
    } catch (error) {
      failure = timescaleNotPreloaded(error) ?? error
      throw failure
    } finally {
      // After a failure the connection may be gone (a FATAL ends the session, and its locks
      // with it): the unlock's own error must not hide the failure that says what to do.
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((error: unknown) => {
        if (failure === undefined) throw error
      })
    }
  })
}

type Queryable = Pick<Pool, 'query'>

async function appliedVersions(client: Queryable): Promise<Set<string>> {
  const exists = await client.query<{ exists: boolean }>("select to_regclass('schema_migrations') is not null as exists")
  if (!exists.rows[0]?.exists) return new Set()
  const rows = await client.query<{ version: string }>('select version from schema_migrations')
  return new Set(rows.rows.map((row) => row.version))
}

async function assertTimescaleAvailable(client: Queryable): Promise<void> {
  const result = await client.query<{ available: boolean; version: string }>(
    "select exists (select 1 from pg_available_extensions where name = 'timescaledb') as available, current_setting('server_version') as version",
  )
  const row = result.rows[0]
  if (row?.available) return
  throw new TimescaleRequiredError(
    `TimescaleDB is required, but this PostgreSQL ${row?.version ?? ''} server does not have the timescaledb extension. ` +
      'Run the server from the timescale/timescaledb image (docker compose does), install TimescaleDB on it ' +
      '(https://docs.timescale.com/self-hosted/latest/install/), or unset DATABASE_URL to use the embedded TimescaleDB. Nothing was changed.',
  )
}

/**
 * A server with TimescaleDB installed but not in `shared_preload_libraries` (a common server
 * mistake) ends the session at `create extension` with a FATAL; say what to change.
 */
function timescaleNotPreloaded(error: unknown): TimescaleRequiredError | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (/extension "timescaledb" must be preloaded/.test(current.message)) {
      return new TimescaleRequiredError(
        "TimescaleDB is installed on this server but not preloaded: add timescaledb to shared_preload_libraries in postgresql.conf (shared_preload_libraries = 'timescaledb') " +
          'and restart PostgreSQL (the timescale/timescaledb image does this). Nothing was changed.',
      )
    }
  }
  return undefined
}
