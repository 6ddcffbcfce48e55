// A rate limit per device, in samples (not requests: one upload may hold one sample or a
// hundred thousand). Token bucket: each device's bucket holds up to `burstSamples`, refills
// at `samplesPerSecond`, and an upload takes as many tokens as it has samples. An upload the
// bucket cannot cover is refused whole with 429 and a Retry-After saying when it would fit.
//
//   const limit = deviceRateLimit({ samplesPerSecond: 2000, burstSamples: 1_000_000 })
//   limit.take(device.id, batch.count) // throws ApiError(429) when over the limit
import { ApiError } from './errors.ts'

export interface RateLimitOptions {
  samplesPerSecond: number
  burstSamples: number
  /** Milliseconds since some fixed point; injectable so the bucket can be tested in time. */
  now?: () => number
}

export interface DeviceRateLimit {
  take(deviceId: number, samples: number): void
}

interface Bucket {
  tokens: number
  updatedAt: number
}

export function deviceRateLimit(options: RateLimitOptions): DeviceRateLimit {
  const now = options.now ?? (() => performance.now())
  const buckets = new Map<number, Bucket>()
  return {
    take(deviceId, samples) {
      const at = now()
      const bucket = buckets.get(deviceId) ?? { tokens: options.burstSamples, updatedAt: at }
      bucket.tokens = Math.min(options.burstSamples, bucket.tokens + ((at - bucket.updatedAt) / 1000) * options.samplesPerSecond)
      bucket.updatedAt = at
      buckets.set(deviceId, bucket)
      if (samples <= bucket.tokens) {
        bucket.tokens -= samples
        return
      }
      const waitSeconds = Math.max(1, Math.ceil((samples - bucket.tokens) / options.samplesPerSecond))
      throw new ApiError(
        429,
        'rate_limited',
        `this device sent more than ${options.samplesPerSecond} samples/s (burst ${options.burstSamples}); nothing was stored, retry in ${waitSeconds} s`,
        { samplesPerSecond: options.samplesPerSecond, burstSamples: options.burstSamples },
        { 'Retry-After': String(waitSeconds) },
      )
    },
  }
}
