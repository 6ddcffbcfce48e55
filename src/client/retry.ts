// When to try an upload again, and how long to wait first. Only failures that can succeed
// later are retried; the server deduplicates on (device, sample id, time), so sending a
// batch twice never stores it twice.

export interface RetryPolicy {
  /** Retries per batch after the first attempt. */
  maxRetries: number
  /** First backoff step; doubles with each retry. */
  baseDelayMs: number
  /** No single wait is longer than this (unless the server's Retry-After asks for more). */
  maxDelayMs: number
  /** A batch gives up when its waits would add up to more than this. */
  maxTotalWaitMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 10,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  maxTotalWaitMs: 5 * 60_000,
}

/**
 * The default policy with the settings the caller gave. A setting given as `undefined` (an
 * option left out on the command line) keeps its default instead of replacing it: a plain
 * spread would let it through, and `retry >= undefined` never ends the retries.
 */
export function retryPolicyWith(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const given = Object.entries(overrides).filter(([, value]) => value !== undefined)
  return { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(given) }
}

/**
 * 429 (slow down), 503 (e.g. the database is unavailable) and the gateway errors a proxy in
 * front of the service answers while it restarts. Every other status is final: a 4xx will
 * fail the same way again, and a 500 is a server bug that a retry does not fix.
 */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504])

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status)
}

/**
 * Socket-level failures: the service is not up yet, restarted, or dropped a kept-alive
 * connection. Node's fetch reports them as a TypeError whose `cause` carries the code.
 */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

/** The network error code of a failed fetch (`ECONNREFUSED`, ...), or undefined. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    // AbortSignal.timeout() ends a request with a TimeoutError DOMException.
    if (current.name === 'TimeoutError') return 'ETIMEDOUT'
  }
  return undefined
}

export function isRetryableNetworkError(error: unknown): boolean {
  const code = networkErrorCode(error)
  return code !== undefined && RETRYABLE_NETWORK_CODES.has(code)
}

/**
 * Milliseconds a Retry-After header asks for: delta-seconds or an HTTP date. Undefined when
 * absent or unreadable (then the client's own backoff applies).
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Wait before retry number `retry` (0 for the first retry): exponential, capped, with
 * "equal jitter" (half fixed, half random) so many clients that failed together do not come
 * back together, while each still waits at least half its step. When the server said how
 * long (Retry-After), that is the wait, plus a jitter of at most a second for the same reason.
 */
export function backoffMs(policy: RetryPolicy, retry: number, serverAskedMs?: number, random = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)
  if (serverAskedMs !== undefined) return serverAskedMs + random() * Math.min(step / 2, 1000)
  return step / 2 + random() * (step / 2)
}
