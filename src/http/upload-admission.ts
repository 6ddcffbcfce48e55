// Overload protection: at most `maxInFlight` uploads and `memoryBudgetBytes` of their bodies
// are admitted at once. Anything beyond is answered at once with 503 + Retry-After, before
// the body is read or the database is asked anything, so load beyond capacity costs almost
// nothing instead of queueing in memory until the process runs out of it.
//
//   app.post('/v1/samples', admitUploads({ maxInFlight: 16, memoryBudgetBytes: 256 << 20, maxBodyBytes, retryAfterSeconds: 1 }), ...)
import type { MiddlewareHandler } from 'hono'
import { ApiError } from './errors.ts'

export interface AdmissionOptions {
  maxInFlight: number
  memoryBudgetBytes: number
  /** Reserved for a body whose decompressed size cannot be known from its headers. */
  maxBodyBytes: number
  retryAfterSeconds: number
}

export function admitUploads(options: AdmissionOptions): MiddlewareHandler {
  let inFlight = 0
  let reservedBytes = 0
  return async function admitUploads(c, next) {
    const reservation = reservedBytesFor(c.req.header('content-length'), c.req.header('content-encoding'), options.maxBodyBytes)
    if (inFlight >= options.maxInFlight || (inFlight > 0 && reservedBytes + reservation > options.memoryBudgetBytes)) {
      throw new ApiError(
        503,
        'overloaded',
        `the service is at capacity (${inFlight} uploads in flight, ${reservedBytes} body bytes); nothing was stored, retry later`,
        { inFlight, maxInFlight: options.maxInFlight },
        // The unread body stays on the socket: close it rather than read it for nothing.
        { 'Retry-After': String(options.retryAfterSeconds), Connection: 'close' },
      )
    }
    inFlight++
    reservedBytes += reservation
    try {
      await next()
    } finally {
      inFlight--
      reservedBytes -= reservation
    }
  }
}

/**
 * An identity body is as large as its Content-Length says (the body limit enforces it); a
 * gzip body or one without a length may expand up to the body limit after gunzip.
 */
function reservedBytesFor(contentLength: string | undefined, contentEncoding: string | undefined, maxBodyBytes: number): number {
  const declared = contentLength !== undefined && /^\d+$/.test(contentLength) ? Number(contentLength) : undefined
  const encoding = contentEncoding?.trim().toLowerCase() || 'identity'
  if (declared === undefined || encoding !== 'identity') return maxBodyBytes
  return Math.min(declared, maxBodyBytes)
}
