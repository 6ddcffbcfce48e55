// Telling "the database is unavailable, try again later" from "this query is wrong".

/**
 * True for failures a retry can cure: the server could not be reached, the connection
 * broke, the server is starting/stopping or out of resources, or the transaction lost a
 * serialization race. These become 503 + Retry-After at the HTTP edge.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    // Node socket errors, and SQLSTATE classes 08 (connection), 53 (resources),
    // 57P (operator intervention: shutdown, admin_shutdown, cannot_connect_now), 40 (rollback).
    if (/^E[A-Z]+$/.test(code)) return true
    if (/^(08|53|57P|40)/.test(code)) return true
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(error.message)
}
