// What the command-line tools share about bad usage, so every tool answers it alike: one error
// type, the argv and flag parsers that throw it, and runTool, which turns it into the usage
// text on stderr and exit status 2 (the POSIX utilities' "incorrect usage"). `--help` prints
// the usage text on stdout and exits 0; every other failure is the tool's own to report.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError, parseDurationMs, parseWholeNumber, type WholeNumberRange } from '../config.ts'

export class UsageError extends Error {
  override name = 'UsageError'
}

/** The exit status of every tool when its command line is wrong. */
export const EXIT_USAGE = 2

/**
 * Runs a tool's `main` (which returns its exit status); a UsageError it throws prints
 * `tool: message`, a blank line and `usage` on stderr and exits 2.
 *
 * @example await runTool('migrate', USAGE, async () => { ...; return 0 })
 */
export async function runTool(tool: string, usage: string, main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main()
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    reportUsageError(tool, usage, error)
    process.exitCode = EXIT_USAGE
  }
}

/**
 * For a script that works at top level, with no main to hand to runTool: runs its argument
 * parsing, and a UsageError ends the process as runTool would (exit 2).
 */
export function parseOrExit<T>(tool: string, usage: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    reportUsageError(tool, usage, error)
    process.exit(EXIT_USAGE)
  }
}

function reportUsageError(tool: string, usage: string, error: UsageError): void {
  console.error(`${tool}: ${error.message}\n\n${usage}`)
}

/** node:util's parseArgs on this process's arguments; an unknown or malformed flag is a UsageError. */
export function parseToolArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS') ? new UsageError((error as Error).message) : error
  }
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
