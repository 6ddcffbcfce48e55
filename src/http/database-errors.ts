// What a failed database call means for the client, from the error alone:
//
// - transient (the server is down, restarting, out of connections, or chose this transaction
//   as a deadlock or serialization victim): 503 + Retry-After, nothing was stored, a retry
//   can succeed;
// - the connection broke during COMMIT: nobody knows whether the upload was stored; 503 that
//   says so, and that a retry is safe (what was stored comes back as duplicates);
// - anything else (a constraint, a missing table, a bug): 500 with the request id that finds
//   the logged cause. A retry would fail the same way, so the client must not be told to retry.
import { CommitOutcomeUnknown, sqlState } from '../db/pool.ts'
import { ApiError, databaseUnavailable } from './errors.ts'

/**
 * SQLSTATE classes and codes that pass: 08 connection exception, 53 insufficient resources
 * (too many connections, disk full, out of memory), 57P operator intervention (admin
 * shutdown, crash shutdown, cannot connect now), 40001 serialization failure, 40P01 deadlock,
 * 58030 I/O error.
 */
function isTransientSqlState(code: string): boolean {
  // 58030 io_error: the embedded engine's storage failed; the process exits and its supervisor
  // restarts it, so the same upload can succeed after the restart.
  return code.startsWith('08') || code.startsWith('53') || code.startsWith('57P') || code === '40001' || code === '40P01' || code === '58030'
}

/** The socket errors of a connection that failed or broke (no SQLSTATE: the server never answered). */
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND'])

/**
 * node-postgres reports a dropped or unreachable connection with plain Errors (no code):
 * these are its messages, and the pool's own checkout timeout.
 */
const CONNECTION_ERROR_MESSAGES = [
  /Connection terminated/i,
  /connection error and is not queryable/i,
  /Client was closed and is not queryable/i,
  /timeout exceeded when trying to connect/i,
  /Connection ended unexpectedly/i,
  /Cannot use a pool after calling end/i,
]

export function isTransientDatabaseError(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const state = sqlState(current)
    if (state) return isTransientSqlState(state)
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true
    if (CONNECTION_ERROR_MESSAGES.some((pattern) => pattern.test(current.message))) return true
  }
  return false
}

/** The answer for a database call that failed; `requestId` names it in the log. */
export function databaseFailure(error: unknown, retryAfterSeconds: number, requestId: string | undefined): ApiError {
  const retryAfter = { 'Retry-After': String(retryAfterSeconds) }
  if (error instanceof CommitOutcomeUnknown) {
    return new ApiError(
      503,
      'commit_outcome_unknown',
      'the connection to the database was lost while the upload was being committed, so it may or may not be stored; ' +
        'sending it again is safe: samples already stored are counted as duplicates, never stored twice',
      undefined,
      retryAfter,
    )
  }
  if (isTransientDatabaseError(error)) return databaseUnavailable(error, retryAfterSeconds)
  return internalError(requestId, error)
}

/** 500: a fault of the service; the request id finds its cause in the log. */
export function internalError(requestId: string | undefined, cause?: unknown): ApiError {
  const reference = requestId ? ` (request id ${requestId}: the service log has the cause)` : ''
  const error = new ApiError(500, 'internal_error', `internal error; nothing was stored, and sending the same upload again will fail the same way${reference}`, requestId ? { requestId } : undefined)
  if (cause !== undefined) error.cause = cause
  return error
}
