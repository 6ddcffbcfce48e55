// Uploads carry `Authorization: Bearer <token>`; the device it belongs to owns the rows.
// Checked first, before admission and before any body byte is read: an upload without a
// valid token costs no upload slot, no body, and (after a few) no database query.
import { setTimeout as sleep } from 'node:timers/promises'
import type { MiddlewareHandler } from 'hono'
import type { RequestIdVariables } from 'hono/request-id'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Device } from '../db/devices.ts'
import type { AuthFailureLimit } from './auth-failure-limit.ts'
import { databaseFailure } from './database-errors.ts'
import type { DeviceLookup } from './device-cache.ts'
import { ApiError } from './errors.ts'

/** `requestId` comes from hono/request-id, mounted first in app.ts. */
export type AuthVariables = { device: Device } & RequestIdVariables

/** How long a refusal for too many failed authentications is held before it is sent. */
const REFUSAL_DELAY_MS = 1000

export interface AuthOptions {
  devices: DeviceLookup
  failures: AuthFailureLimit
  retryAfterSeconds: number
}

function unauthorized(message: string): ApiError {
  // The body is not read: the connection cannot carry another request.
  return new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="telemetry"', Connection: 'close' })
}

export function requireDevice(options: AuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireDevice(c, next) {
    const address = clientAddress(c)
    const header = c.req.header('authorization')
    const token = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
    const waitSeconds = options.failures.waitSeconds(address)
    if (waitSeconds > 0 && !(token && options.devices.seenValid(token))) {
      // Held a moment before the answer: a guesser's connection waits instead of sending the
      // next guess, so 64 connections make at most 64 guesses a second (a timer costs nothing).
      await sleep(REFUSAL_DELAY_MS)
      throw new ApiError(429, 'too_many_auth_failures', `too many failed authentications from ${address}; nothing was read or stored, retry in ${waitSeconds} s`, undefined, {
        'Retry-After': String(waitSeconds),
        Connection: 'close',
      })
    }
    if (!token) {
      options.failures.record(address)
      throw unauthorized('missing bearer token: send "Authorization: Bearer <token>" (see `npm run devices -- add <name>`)')
    }
    let device: Device | undefined
    try {
      device = await options.devices.find(token)
    } catch (error) {
      throw databaseFailure(error, options.retryAfterSeconds, c.get('requestId'))
    }
    if (!device) {
      options.failures.record(address)
      throw unauthorized('unknown or revoked token')
    }
    c.set('device', device)
    await next()
  }
}

/** The connecting address (a proxy's, behind one); 'unknown' when the app runs without a socket (in-process tests). */
function clientAddress(c: Parameters<MiddlewareHandler>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown'
  }
}
