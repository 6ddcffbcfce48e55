// Devices and their upload tokens. A token is `<selector>.<secret>`: the selector (public,
// indexed) finds the device, the 256-bit secret is checked against its stored SHA-256 in
// constant time. A plain SHA-256 is enough because the secret is random, not a password.
import crypto from 'node:crypto'
import type { Pool } from './pool.ts'

export interface Device {
  id: number
  name: string
}

export interface DeviceListing extends Device {
  createdAt: Date
  revokedAt: Date | null
}

export class DeviceError extends Error {
  override name = 'DeviceError'
}

type Queryable = Pick<Pool, 'query'>

/**
 * Letters, digits and `. _ - @`, starting with a letter or digit, at most 64: a name prints
 * safely in a terminal, a log line and a URL (no control characters, no spaces, no quotes).
 */
export const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/

export function checkDeviceName(name: string): void {
  if (!DEVICE_NAME.test(name)) {
    throw new DeviceError(`${JSON.stringify(name)} is not a device name: use 1 to 64 letters, digits, ".", "_", "-" or "@", starting with a letter or digit`)
  }
}

/** A new token: the only time it exists in clear; the database keeps its selector and a hash. */
function newToken(): { token: string; selector: string; hash: Buffer } {
  const selector = crypto.randomBytes(8).toString('hex')
  const secret = crypto.randomBytes(32).toString('base64url')
  return { token: `${selector}.${secret}`, selector, hash: hashSecret(secret) }
}

/** Creates a device and returns its token. */
export async function addDevice(db: Queryable, name: string): Promise<{ device: Device; token: string }> {
  checkDeviceName(name)
  const { token, selector, hash } = newToken()
  const result = await db.query<{ id: number }>(
    'insert into devices (name, token_selector, token_hash) values ($1, $2, $3) on conflict (name) do nothing returning id',
    [name, selector, hash],
  )
  const row = result.rows[0]
  if (!row) {
    const existing = await db.query<{ revoked: boolean }>('select revoked_at is not null as revoked from devices where name = $1', [name])
    if (existing.rows[0]?.revoked) throw new DeviceError(`a device named "${name}" exists and is revoked: \`npm run devices -- restore ${name}\` gives it a new token (its samples stay its own)`)
    throw new DeviceError(`a device named "${name}" exists already (\`npm run devices -- rotate ${name}\` gives it a new token)`)
  }
  return { device: { id: row.id, name }, token }
}

/**
 * A new token for an active device; the old one stops working at once (within the service's
 * AUTH_CACHE_TTL). The device keeps its id, so its samples stay its own.
 */
export async function rotateToken(db: Queryable, name: string): Promise<{ device: Device; token: string }> {
  return replaceToken(db, name, 'and revoked_at is null', `no active device named "${name}" (a revoked one is brought back with \`restore\`)`)
}

/** Brings a revoked device back with a new token (the old token stays dead); same id, same samples. */
export async function restoreDevice(db: Queryable, name: string): Promise<{ device: Device; token: string }> {
  return replaceToken(db, name, 'and revoked_at is not null', `no revoked device named "${name}"`)
}

async function replaceToken(db: Queryable, name: string, condition: string, missing: string): Promise<{ device: Device; token: string }> {
  const { token, selector, hash } = newToken()
  const result = await db.query<{ id: number }>(
    `update devices set token_selector = $2, token_hash = $3, revoked_at = null where name = $1 ${condition} returning id`,
    [name, selector, hash],
  )
  const row = result.rows[0]
  if (!row) throw new DeviceError(missing)
  return { device: { id: row.id, name }, token }
}

export async function listDevices(db: Queryable): Promise<DeviceListing[]> {
  const result = await db.query<DeviceListing>('select id, name, created_at as "createdAt", revoked_at as "revokedAt" from devices order by id')
  return result.rows
}

/** Revokes a device's token; its stored samples stay. */
export async function revokeDevice(db: Queryable, name: string): Promise<void> {
  const result = await db.query('update devices set revoked_at = coalesce(revoked_at, now()) where name = $1', [name])
  if (result.rowCount === 0) throw new DeviceError(`no device named "${name}"`)
}

export async function countDevices(db: Queryable): Promise<number> {
  const result = await db.query<{ count: string }>('select count(*) from devices')
  return Number(result.rows[0]?.count ?? 0)
}

/** The active device a token belongs to, or undefined (malformed, unknown or revoked). */
export async function findDeviceByToken(db: Queryable, token: string): Promise<Device | undefined> {
  const match = /^([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/.exec(token)
  if (!match) return undefined
  const result = await db.query<{ id: number; name: string; token_hash: Buffer }>(
    'select id, name, token_hash from devices where token_selector = $1 and revoked_at is null',
    [match[1]],
  )
  const row = result.rows[0]
  if (!row || !crypto.timingSafeEqual(row.token_hash, hashSecret(match[2]!))) return undefined
  return { id: row.id, name: row.name }
}

function hashSecret(secret: string): Buffer {
  return crypto.createHash('sha256').update(secret).digest()
}
