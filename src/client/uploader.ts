// One batch to the service: POST it, and try again while the failure is one that can pass
// (see retry.ts). The caller gets the server's counts, or an error saying why the batch
// was not stored: refused for good (UploadRejected) or retries used up (UploadGaveUp).
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { UploadAnswer } from '../api-types.ts'
import { backoffMs, isRetryableNetworkError, isRetryableStatus, networkErrorCode, retryAfterMs, type RetryPolicy } from './retry.ts'

const gzip = promisify(gzipCallback)

/** The part of the service's answer the client checks and counts. */
export type StoredCounts = Pick<UploadAnswer, 'accepted' | 'duplicates'>

export interface UploadTarget {
  /** Full URL of the upload endpoint (`.../v1/samples`). */
  endpoint: string
  token: string
  contentType: string
  /** Compress the body (Content-Encoding: gzip). */
  gzip: boolean
  /** One attempt may take this long; a timed-out attempt is retried (the server dedups). */
  requestTimeoutMs: number
}

export interface RetryNotice {
  /** 1 for the first retry. */
  retry: number
  delayMs: number
  /** `HTTP 503`, `ECONNREFUSED`, ... */
  reason: string
}

/** The server refused the batch with an answer that will not change on a retry. */
export class UploadRejected extends Error {
  override name = 'UploadRejected'
  constructor(
    readonly status: number,
    readonly responseText: string,
  ) {
    super(`HTTP ${status}: ${responseText.slice(0, 500) || '(empty answer)'}`)
  }
}

/** Retries are used up (or would wait longer than allowed); `cause` is the last failure. */
export class UploadGaveUp extends Error {
  override name = 'UploadGaveUp'
}

/**
 * @example
 * const answer = await uploadBatch(target, body, DEFAULT_RETRY_POLICY, { onRetry: (n) => console.error(n.reason) })
 */
export async function uploadBatch(
  target: UploadTarget,
  body: Uint8Array,
  policy: RetryPolicy,
  events: { onRetry?: (notice: RetryNotice) => void; signal?: AbortSignal } = {},
): Promise<StoredCounts> {
  const payload = target.gzip ? await gzip(body) : body
  const headers: Record<string, string> = {
    authorization: `Bearer ${target.token}`,
    'content-type': target.contentType,
  }
  if (target.gzip) headers['content-encoding'] = 'gzip'

  let waitedMs = 0
  for (let retry = 0; ; retry++) {
    const result = await attempt(target, headers, payload, events.signal)
    if ('answer' in result) return result.answer
    if (retry >= policy.maxRetries) {
      throw new UploadGaveUp(`gave up after ${retry} retries: ${result.reason}`, { cause: result.error })
    }
    const delayMs = Math.round(backoffMs(policy, retry, result.retryAfterMs))
    if (waitedMs + delayMs > policy.maxTotalWaitMs) {
      throw new UploadGaveUp(`gave up after ${retry} retries (${Math.round(waitedMs / 1000)} s waited, next wait would pass the cap): ${result.reason}`, { cause: result.error })
    }
    events.onRetry?.({ retry: retry + 1, delayMs, reason: result.reason })
    await sleep(delayMs, undefined, { signal: events.signal })
    waitedMs += delayMs
  }
}

type AttemptResult = { answer: StoredCounts } | { reason: string; retryAfterMs?: number; error: unknown }

/** One POST. Returns the answer or a retryable failure; throws what is final. */
async function attempt(target: UploadTarget, headers: Record<string, string>, payload: Uint8Array, signal?: AbortSignal): Promise<AttemptResult> {
  const timeout = AbortSignal.timeout(target.requestTimeoutMs)
  let response: Response
  try {
    response = await fetch(target.endpoint, {
      method: 'POST',
      headers,
      body: payload,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    })
  } catch (error) {
    if (signal?.aborted) throw error
    if (isRetryableNetworkError(error)) return { reason: networkErrorCode(error)!, error }
    throw error
  }
  const text = await response.text().catch((error: unknown) => {
    // The connection dropped mid-answer: whether the batch was stored is unknown, and a
    // retry settles it (duplicates are counted, not stored again).
    if (isRetryableNetworkError(error)) return undefined
    throw error
  })
  if (text === undefined) return { reason: 'connection lost while reading the answer', error: new Error('answer cut short') }
  if (response.ok) return { answer: parseAnswer(response.status, text) }
  if (isRetryableStatus(response.status)) {
    return {
      reason: `HTTP ${response.status}`,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      error: new UploadRejected(response.status, text),
    }
  }
  throw new UploadRejected(response.status, text)
}

function parseAnswer(status: number, text: string): StoredCounts {
  let answer: unknown
  try {
    answer = JSON.parse(text)
  } catch {
    throw new UploadRejected(status, `answer is not JSON: ${text}`)
  }
  const { accepted, duplicates } = (answer ?? {}) as Record<string, unknown>
  if (typeof accepted !== 'number' || typeof duplicates !== 'number') {
    throw new UploadRejected(status, `answer lacks "accepted"/"duplicates": ${text}`)
  }
  return { accepted, duplicates }
}
