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

/** What the service measures of its database client (src/telemetry/pool-metrics.ts records it). */
export interface ClientObserver {
  /** A checkout waited this long for a free connection (db.client.connection.wait_time). */
  connectionWaited(seconds: number): void
  /** One operation of withMeasuredClient took this long, connection in hand (db.client.operation.duration). */
  operation(name: string, seconds: number, errorType?: string): void
}

const observers = new WeakMap<Pool, ClientObserver>()

export function observeClient(pool: Pool, observer: ClientObserver): void {
  observers.set(pool, observer)
}

/**
 * withClient for one operation the service measures, such as the writer's transaction: timed
 * from the moment the connection is in hand to the end of `work`, so that a wait for a free
 * connection (reported apart, as db.client.connection.wait_time) does not pass for a slow
 * database.
 */
export function withMeasuredClient<T>(pool: Pool, operationName: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    const started = performance.now()
    const seconds = () => (performance.now() - started) / 1000
    try {
      const result = await work(client)
      observers.get(pool)?.operation(operationName, seconds())
      return result
    } catch (error) {
      observers.get(pool)?.operation(operationName, seconds(), errorType(error))
      throw error
    }
  })
}

/**
 * The SQLSTATE of an error the database answered with, or undefined for anything else (a
 * socket's error code such as ECONNRESET, a driver's own error): what tells a refusal by the
 * database from a connection that broke.
 */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/** SQLSTATE or socket error code: the error.type of database metrics ('unknown' without one). */
export function errorType(error: unknown): string {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : 'unknown'
}

/**
 * Runs `work` on one checked-out connection (a transaction, a session-level lock).
 *
 * While a connection is checked out the pool does not listen to its 'error' event, and an
 * unheard 'error' (the server ending the session between two queries) would crash the
 * process: it is heard here. A connection whose work failed is dropped, not pooled again: its
 * session state (an open transaction, a lock) is unknown.
 */
export async function withClient<T>(pool: Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const requested = performance.now()
  const client = await pool.connect()
  observers.get(pool)?.connectionWaited((performance.now() - requested) / 1000)
  let failure: Error | undefined
  const onError = (error: Error): void => {
    failure = error
  }
  client.on('error', onError)
  try {
    return await work(client)
  } catch (error) {
    failure ??= error instanceof Error ? error : new Error(String(error))
    throw error
  } finally {
    client.off('error', onError)
    client.release(failure)
  }
}

/**
 * The connection broke while COMMIT was on its way: the server may have committed or not, and
 * nobody can tell. (A COMMIT the server answered with an error was rolled back: that one is
 * an ordinary error with its SQLSTATE.)
 */
export class CommitOutcomeUnknown extends Error {
  override name = 'CommitOutcomeUnknown'
}

/**
 * Runs `work` between BEGIN and COMMIT on `client`; rolls back and rethrows when it fails.
 * `commitWith`, a statement without parameters, goes in one simple query with the COMMIT, a
 * round trip less (the writer's bookkeeping): a simple query stops at its first error, so that
 * COMMIT never runs after a failed `commitWith`.
 */
export async function transaction<T>(client: pg.ClientBase, work: () => Promise<T>, commitWith?: string): Promise<T> {
  await client.query('begin')
  try {
    const result = await work()
    await client.query(commitWith ? `${commitWith}; commit` : 'commit').catch((error: unknown) => {
      throw commitFailure(error)
    })
    return result
  } catch (error) {
    await rollBack(client)
    throw error
  }
}

/** What a failed COMMIT means: the database's refusal (rolled back) as it is, a lost connection as an unknown outcome. */
function commitFailure(error: unknown): unknown {
  if (sqlState(error)) return error
  return new CommitOutcomeUnknown(`the connection was lost during COMMIT: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
}

/**
 * Best effort: when the connection itself broke, withClient drops it, which ends the
 * transaction on the server just the same.
 */
async function rollBack(client: pg.ClientBase): Promise<void> {
  await client.query('rollback').catch(() => undefined)
}
