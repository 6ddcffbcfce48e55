// Failed authentications per client address, counted before any body is read or any
// database query is made: a token bucket of `burst` failures refilled at `perSecond`. An
// address that has used up its bucket gets 429 at once for every token the service has not
// seen valid recently, without a lookup; tokens of real devices still pass (a device behind
// the same NAT or proxy as a guesser keeps working).
//
//   const failures = authFailureLimit({ burst: 20, perSecond: 1 })
//   if (failures.exhausted(address)) ...; failures.record(address)
export interface AuthFailureLimitOptions {
  burst: number
  perSecond: number
  /** Addresses tracked at once; beyond, the oldest are forgotten. */
  maxAddresses?: number
  now?: () => number
}

export interface AuthFailureLimit {
  /** Seconds until the address may fail again, or 0 when it may now. */
  waitSeconds(address: string): number
  record(address: string): void
}

interface Bucket {
  tokens: number
  updatedAt: number
}

export function authFailureLimit(options: AuthFailureLimitOptions): AuthFailureLimit {
  const now = options.now ?? (() => performance.now())
  const maxAddresses = options.maxAddresses ?? 100_000
  const buckets = new Map<string, Bucket>()
  const refilled = (address: string): Bucket => {
    const at = now()
    const bucket = buckets.get(address) ?? { tokens: options.burst, updatedAt: at }
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((at - bucket.updatedAt) / 1000) * options.perSecond)
    bucket.updatedAt = at
    return bucket
  }
  return {
    waitSeconds(address) {
      const bucket = refilled(address)
      return bucket.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond))
    },
    record(address) {
      const bucket = refilled(address)
      bucket.tokens = Math.max(0, bucket.tokens - 1)
      buckets.delete(address)
      buckets.set(address, bucket)
      if (buckets.size > maxAddresses) buckets.delete(buckets.keys().next().value!)
    },
  }
}
