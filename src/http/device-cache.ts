// Token -> device answers kept for a short while, found and not found alike, so a client
// that uploads often costs one query per `ttlMs` instead of one per upload, and a client
// that repeats a bad token costs nothing after the first. The price is the bound on
// revocation: a revoked token works for at most `ttlMs` more (5 s by default, AUTH_CACHE_TTL).
//
//   const lookup = cachedDeviceLookup((token) => findDeviceByToken(pool, token), { ttlMs: 5000, maxEntries: 10_000 })
//   const device = await lookup.find(token)
import crypto from 'node:crypto'
import type { Device } from '../db/devices.ts'

export interface DeviceCacheOptions {
  ttlMs: number
  /** Beyond this many tokens the oldest answers are forgotten (a flood of random tokens cannot grow memory). */
  maxEntries: number
  /** Milliseconds since some fixed point; injectable so the expiry can be tested. */
  now?: () => number
}

export interface DeviceLookup {
  /** The active device of the token, or undefined; from the cache while its answer is fresh. */
  find(token: string): Promise<Device | undefined>
  /** Whether the token's device was found active at some point in the last `ttlMs * 60` (a device, not a guess). */
  seenValid(token: string): boolean
}

interface Entry {
  device: Device | undefined
  expiresAt: number
}

export function cachedDeviceLookup(findDevice: (token: string) => Promise<Device | undefined>, options: DeviceCacheOptions): DeviceLookup {
  const now = options.now ?? (() => performance.now())
  const answers = new Map<string, Entry>()
  const recentlyValid = new Map<string, number>()
  // Keys are digests: the cache never holds a token in clear.
  const keyOf = (token: string) => crypto.createHash('sha256').update(token).digest('base64')
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    map.delete(key) // re-inserted at the end: insertion order is age order
    map.set(key, value)
    if (map.size > options.maxEntries) map.delete(map.keys().next().value!)
  }
  return {
    async find(token) {
      const key = keyOf(token)
      const cached = answers.get(key)
      if (cached && cached.expiresAt > now()) return cached.device
      const device = await findDevice(token)
      remember(answers, key, { device, expiresAt: now() + options.ttlMs })
      if (device) remember(recentlyValid, key, now() + options.ttlMs * 60)
      return device
    },
    seenValid(token) {
      const until = recentlyValid.get(keyOf(token))
      return until !== undefined && until > now()
    },
  }
}
