#!/usr/bin/env node
// `npm run send -- [options] FILE...`: uploads JSON-lines files of samples to the service.
// Only argument parsing and printing live here; the work is in src/client/.
import { stat } from 'node:fs/promises'
import { formatBytes } from '../byte-size.ts'
import { ConfigError, loadClientConfig } from '../config.ts'
import { SEND_FORMATS, type SendFormat } from '../client/encode.ts'
import { DEFAULT_RETRY_POLICY } from '../client/retry.ts'
import { DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT_MS, sendFiles, type ProgressState } from '../client/send-files.ts'
import { count, formatSummary, type SendSummary } from '../client/summary.ts'
import { resolveToken, TokenMissing } from '../client/token.ts'
import { perSecond, progressMode, startProgress } from './progress.ts'
import { durationFlag, EXIT_USAGE, parseToolArgs, runTool, UsageError, wholeNumberFlag } from './usage.ts'

const USAGE = `Usage: npm run send -- [options] FILE...

Uploads JSON-lines files (one proto3-JSON Sample a line) to the telemetry service.

Options:
  --url URL              service base URL (default: TELEMETRY_URL, then http://localhost:8080)
  --token TOKEN          device bearer token (default: TELEMETRY_TOKEN, then DATA_DIR/local.token for localhost)
  --batch N              samples per upload (default ${DEFAULT_BATCH_SIZE})
  --concurrency N        uploads in flight (default ${DEFAULT_CONCURRENCY})
  --format F             body format: ${SEND_FORMATS.join(' | ')} (default collection)
  --gzip                 compress bodies (Content-Encoding: gzip)
  --skip-invalid         report bad lines and send the rest (default: stop at the first)
  --max-retries N        retries per batch (default ${DEFAULT_RETRY_POLICY.maxRetries})
  --max-retry-wait D     total backoff per batch before giving up, e.g. 90s, 5m (default ${DEFAULT_RETRY_POLICY.maxTotalWaitMs / 60_000}m)
  --timeout D            one request may take this long (default ${DEFAULT_REQUEST_TIMEOUT_MS / 1000}s)
  --json                 print the summary as JSON (on stdout, as the plain summary)
  --quiet                no progress output
  -h, --help             this text

Exit codes: 0 all samples stored, 1 something was not stored (see the summary),
2 bad usage, 3 all valid samples stored but --skip-invalid skipped bad lines.`

/** Exit codes, as the usage text and docs/client-and-simulator.md list them. */
const EXIT = { ok: 0, incomplete: 1, usage: EXIT_USAGE, skippedInvalid: 3 } as const

async function main(): Promise<number> {
  const { values, positionals } = parseToolArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      batch: { type: 'string' },
      concurrency: { type: 'string' },
      format: { type: 'string', default: 'collection' },
      gzip: { type: 'boolean', default: false },
      'skip-invalid': { type: 'boolean', default: false },
      'max-retries': { type: 'string' },
      'max-retry-wait': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return EXIT.ok
  }
  if (positionals.length === 0) throw new UsageError('no FILE given')
  if (!(SEND_FORMATS as readonly string[]).includes(values.format)) {
    throw new UsageError(`--format must be one of ${SEND_FORMATS.join(', ')}, got ${values.format}`)
  }
  const clientConfig = loadClientConfig()
  const url = values.url ?? clientConfig.url
  try {
    new URL(url)
  } catch {
    throw new UsageError(`${values.url === undefined ? 'TELEMETRY_URL' : '--url'} is not a URL: ${url}`)
  }

  const token = await resolveToken(url, values.token, clientConfig)
  const totalBytes = await totalSize(positionals)
  const progress = startProgress<ProgressState>({
    mode: progressMode(process.stderr, values.quiet),
    output: process.stderr,
    tool: 'send',
    total: totalBytes,
    initial: { bytesRead: 0, samplesRead: 0, samplesSent: 0 },
    // The share is of bytes read; the samples say how many of those read so far the service
    // has answered for, so a run waiting on retries does not look done.
    position: (state) => state.bytesRead,
    describe: (state, seconds) =>
      `read ${formatBytes(state.bytesRead)} of ${formatBytes(totalBytes)}, ${count(state.samplesSent)} of ${count(state.samplesRead)} samples sent, ${count(perSecond(state.samplesSent, seconds))} samples/s`,
  })
  const interrupt = new AbortController()
  process.once('SIGINT', () => interrupt.abort())

  let summary: SendSummary
  try {
    summary = await sendFiles({
      files: positionals,
      url,
      token,
      batchSize: wholeNumber('--batch', values.batch, 1),
      concurrency: wholeNumber('--concurrency', values.concurrency, 1),
      format: values.format as SendFormat,
      gzip: values.gzip,
      skipInvalid: values['skip-invalid'],
      retry: {
        maxRetries: wholeNumber('--max-retries', values['max-retries'], 0),
        maxTotalWaitMs: duration('--max-retry-wait', values['max-retry-wait']),
      },
      requestTimeoutMs: duration('--timeout', values.timeout),
      onProgress: (state) => progress.update(state),
      onMessage: (text) => progress.log(text),
      signal: interrupt.signal,
    })
  } finally {
    progress.stop()
  }

  // The summary is the run's result: stdout, so `npm run send ... > report.txt` keeps it.
  // Progress and messages stay on stderr.
  process.stdout.write(`${values.json ? JSON.stringify(summary) : formatSummary(summary)}\n`)
  return exitCode(summary)
}

function exitCode(summary: SendSummary): number {
  if (!summary.complete || summary.rejected > 0 || summary.unsent > 0) return EXIT.incomplete
  return summary.invalidLines > 0 ? EXIT.skippedInvalid : EXIT.ok
}

/** Undefined when not given, so sendFiles applies its default. */
function wholeNumber(flag: string, raw: string | undefined, min: number): number | undefined {
  return raw === undefined ? undefined : wholeNumberFlag(flag, raw, { min })
}

function duration(flag: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : durationFlag(flag, raw)
}

async function totalSize(files: string[]): Promise<number> {
  let bytes = 0
  for (const file of files) {
    try {
      bytes += (await stat(file)).size
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`)
    }
  }
  return bytes
}

// No token, a bad TELEMETRY_URL: the command line (or its environment) is what must change.
await runTool('send', USAGE, () => main().catch((error: unknown) => {
  throw error instanceof TokenMissing || error instanceof ConfigError ? new UsageError(error.message) : error
})).catch((error: unknown) => {
  process.stderr.write(`send: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = EXIT.incomplete
})
