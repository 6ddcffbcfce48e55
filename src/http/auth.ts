// Uploads carry `Authorization: Bearer <token>`; the device it belongs to owns the rows.
import type { MiddlewareHandler } from 'hono'
import type { RequestIdVariables } from 'hono/request-id'
import { findDeviceByToken, type Device } from '../db/devices.ts'
import type { Pool } from '../db/pool.ts'
import { databaseFailure } from './database-errors.ts'
import { ApiError } from './errors.ts'

/** `requestId` comes from hono/request-id, mounted first in app.ts. */
export type AuthVariables = { device: Device } & RequestIdVariables

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="telemetry"' })
}

/** Looks the token up on every request, so a revocation takes effect on the next upload. */
export function requireDevice(pool: Pool, retryAfterSeconds: number): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireDevice(c, next) {
    const header = c.req.header('authorization')
    const token = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
    if (!token) throw unauthorized('missing bearer token: send "Authorization: Bearer <token>" (see `npm run devices -- add <name>`)')
    let device: Device | undefined
    try {
      device = await findDeviceByToken(pool, token)
    } catch (error) {
      throw databaseFailure(error, retryAfterSeconds, c.get('requestId'))
    }
    if (!device) throw unauthorized('unknown or revoked token')
    c.set('device', device)
    await next()
  }
}
