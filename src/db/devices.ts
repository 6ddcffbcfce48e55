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

/** Creates a device and returns its token: the only time the token exists in clear. */
export async function addDevice(db: Queryable, name: string): Promise<{ device: Device; token: string }> {
  if (name.length === 0 || name.length > 200) throw new DeviceError('a device name has 1 to 200 characters')
  const selector = crypto.randomBytes(8).toString('hex')
  const secret = crypto.randomBytes(32).toString('base64url')
  const result = await db.query<{ id: number }>(
    'insert into devices (name, token_selector, token_hash) values ($1, $2, $3) on conflict (name) do nothing returning id',
    [name, selector, hashSecret(secret)],
  )
  const row = result.rows[0]
  if (!row) throw new DeviceError(`a device named "${name}" exists already`)
  return { device: { id: row.id, name }, token: `${selector}.${secret}` }
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
