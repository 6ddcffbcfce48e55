// /healthz: the process answers. /readyz: the database answers too (load balancers and
// Kubernetes send uploads only to ready instances).
import { Hono } from 'hono'
import type { Pool } from '../db/pool.ts'
import { databaseUnavailable } from './errors.ts'

export function healthRoutes(pool: Pool, retryAfterSeconds: number): Hono {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      try {
        await pool.query('select 1')
      } catch (error) {
        throw databaseUnavailable(error, retryAfterSeconds)
      }
      return c.json({ status: 'ready' })
    })
}
