// /healthz: the process can do its job (a failed embedded engine cannot: 503, and the process
// is on its way out so that a supervisor restarts it). /readyz: the database answers too (load
// balancers and Kubernetes send uploads only to ready instances).
import { Hono } from 'hono'
import type { IngestStore } from '../db/ingest-store.ts'
import { ApiError, databaseUnavailable } from './errors.ts'

/** The embedded engine's failure, once it failed for good (always undefined with a server). */
export type EngineFailure = () => Error | undefined

export function healthRoutes(ping: IngestStore['ping'], retryAfterSeconds: number, engineFailure: EngineFailure = () => undefined): Hono {
  return new Hono()
    .get('/healthz', (c) => {
      const failure = engineFailure()
      if (failure) throw new ApiError(503, 'database_failed', failure.message)
      return c.json({ status: 'ok' })
    })
    .get('/readyz', async (c) => {
      const failure = engineFailure()
      if (failure) throw new ApiError(503, 'database_failed', failure.message)
      try {
        await ping()
      } catch (error) {
        throw databaseUnavailable(error, retryAfterSeconds)
      }
      return c.json({ status: 'ready' })
    })
}
