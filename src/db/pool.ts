// The connection pool every database user of the process shares.
import pg from 'pg'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'

export type Pool = pg.Pool

export function createPool(url: string, config: Pick<Config, 'dbPoolSize' | 'dbConnectTimeoutMs'>, logger: Logger): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: config.dbPoolSize,
    connectionTimeoutMillis: config.dbConnectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'telemetry-store',
  })
  // An idle connection that the server drops emits here; without a listener the process
  // would crash. The next checkout simply opens a new connection.
  pool.on('error', (error) => logger.warn({ err: error }, 'database connection lost'))
  return pool
}
