// The service's error answers: `{"error": {"code", "message", "details"?}}` with a status
// that says whose fault it is (4xx: the request; 503: try again later; 500: the service's
// fault, with the request id that finds it in the log). Database failures: database-errors.ts.
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { DecodeError } from '../codec/index.ts'
import type { Logger } from '../logger.ts'
import { internalError } from './database-errors.ts'

export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

/**
 * 503 with Retry-After: the request was fine, the database was not; nothing was stored.
 * `storage_full` when the database's disk is full (SQLSTATE 53100 disk_full, or the embedded
 * engine failing on ENOSPC), so clients and operators can tell it from an outage.
 */
export function databaseUnavailable(error: unknown, retryAfterSeconds: number): ApiError {
  const reason = error instanceof Error ? error.message : String(error)
  const headers = { 'Retry-After': String(retryAfterSeconds) }
  if ((error as { code?: unknown }).code === '53100' || /no space left on device/i.test(reason)) {
    return new ApiError(503, 'storage_full', `the database's storage is full, nothing was stored; retry later (${reason})`, undefined, headers)
  }
  return new ApiError(503, 'database_unavailable', `the database is unavailable, nothing was stored; retry later (${reason})`, undefined, headers)
}

/**
 * Maps anything thrown by a handler to its JSON answer. Server-side failures are logged with
 * the request id that the answer (and its X-Request-Id header) carries.
 */
export function errorResponse(error: unknown, c: Context, logger: Logger): Response {
  const requestId = c.get('requestId') as string | undefined
  const apiError = asApiError(error, requestId)
  // The cause (the database's error) is what an operator needs, not the answer built from it.
  if (apiError.status >= 500) logger.error({ err: apiError.cause ?? error, path: c.req.path, requestId }, apiError.message)
  const body: { code: string; message: string; details?: Record<string, unknown> } = { code: apiError.code, message: apiError.message }
  if (apiError.details) body.details = apiError.details
  return c.json({ error: body }, apiError.status, apiError.headers)
}

export function asApiError(error: unknown, requestId?: string): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof DecodeError) return new ApiError(400, error.code, error.message, { ...error.details })
  return internalError(requestId, error)
}
