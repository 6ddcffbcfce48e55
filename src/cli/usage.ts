// What the command-line tools share about bad usage: one error type (a tool prints its message,
// without a stack, and its usage text) and the flag parsers that throw it.
import { ConfigError, parseDurationMs, parseWholeNumber, type WholeNumberRange } from '../config.ts'

export class UsageError extends Error {
  override name = 'UsageError'
}

/** `--batch 500` and the like: a whole number within `range`. */
export function wholeNumberFlag(flag: string, raw: string, range: WholeNumberRange = {}): number {
  return asUsage(() => parseWholeNumber(flag, raw, range))
}

/** `--timeout 90s` and the like, in milliseconds. */
export function durationFlag(flag: string, raw: string): number {
  return asUsage(() => parseDurationMs(flag, raw))
}

function asUsage<T>(parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    throw error instanceof ConfigError ? new UsageError(error.message) : error
  }
}
