// The send pipeline: JSON-lines files -> checked samples -> batches -> uploads, at most
// `concurrency` in flight. Reading waits while every upload slot is taken, so memory holds
// at most (concurrency + 1) batches however large the files are.
import { DecodeError } from '../codec/index.ts'
import { readJsonSample } from '../codec/json.ts'
import { contentTypeOf, encodeBody, encodeRecord, type SendFormat } from './encode.ts'
import { readLines } from './line-reader.ts'
import { retryPolicyWith, type RetryPolicy } from './retry.ts'
import type { SendSummary } from './summary.ts'
import { UploadGaveUp, UploadRejected, uploadBatch, type UploadTarget } from './uploader.ts'

/**
 * Chosen by measurement against the service on the embedded database (100k mixed samples,
 * one upload at a time): 500 -> 16k samples/s, 1000 -> 24k, 2000 -> 27k, 5000 -> 31k,
 * 10000 -> 36k, 20000 -> 33k. Past 5000 the gain is small, while a retry resends the whole
 * batch and the server holds it in one transaction.
 */
export const DEFAULT_BATCH_SIZE = 5000
export const DEFAULT_CONCURRENCY = 4
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000

/** Where a send stands, for a progress display. */
export interface ProgressState {
  bytesRead: number
  samplesRead: number
  /** Samples the service answered for (accepted + duplicates). */
  samplesSent: number
}

export interface SendOptions {
  files: readonly string[]
  /** Base URL of the service; batches go to `${url}/v1/samples`. */
  url: string
  token: string
  batchSize?: number
  concurrency?: number
  format?: SendFormat
  gzip?: boolean
  /** Report bad lines and send the rest, instead of stopping at the first. */
  skipInvalid?: boolean
  /** Settings left undefined keep their defaults (DEFAULT_RETRY_POLICY). */
  retry?: Partial<RetryPolicy>
  requestTimeoutMs?: number
  /** Called after each batch is handed out or answered. */
  onProgress?: (state: ProgressState) => void
  /** Messages for the person running the send: bad lines, refused batches, retries. */
  onMessage?: (message: string) => void
  /** Stops reading; uploads in flight are abandoned and counted as not sent. */
  signal?: AbortSignal
}

/** Invalid lines beyond this many are counted but not reported one by one. */
const MAX_REPORTED_INVALID_LINES = 20

interface Batch {
  records: Uint8Array[]
  /** `file:line` of its first sample, to name the batch in messages. */
  firstLine: string
}

/**
 * Sends JSON-lines files of proto3-JSON Samples and returns what happened.
 *
 * @example
 * const summary = await sendFiles({ files: ['location.jsonl'], url: 'http://127.0.0.1:8080', token })
 * if (summary.accepted + summary.duplicates !== summary.samplesRead) process.exitCode = 1
 */
export async function sendFiles(options: SendOptions): Promise<SendSummary> {
  const startedAt = performance.now()
  const format = options.format ?? 'collection'
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  const retryPolicy = retryPolicyWith(options.retry)
  const target: UploadTarget = {
    endpoint: new URL('/v1/samples', options.url).href,
    token: options.token,
    contentType: contentTypeOf(format),
    gzip: options.gzip ?? false,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  }
  const message = options.onMessage ?? (() => {})
  const summary: SendSummary = {
    files: options.files.length,
    linesRead: 0,
    samplesRead: 0,
    invalidLines: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    unsent: 0,
    retries: 0,
    batches: 0,
    bytesRead: 0,
    elapsedMs: 0,
    samplesPerSecond: 0,
    peakRssBytes: 0,
    complete: true,
  }
  // Set once by whatever ends the run early (a bad line, a refused token, a service that
  // stays away); reading and dispatching check it.
  let stopReason: string | undefined
  const stop = (reason: string) => {
    stopReason ??= reason
  }
  const abort = () => stop('interrupted')
  options.signal?.addEventListener('abort', abort, { once: true })

  let bytesOfFinishedFiles = 0
  let bytesOfCurrentFile = () => 0
  const reportProgress = () =>
    options.onProgress?.({
      bytesRead: bytesOfFinishedFiles + bytesOfCurrentFile(),
      samplesRead: summary.samplesRead,
      samplesSent: summary.accepted + summary.duplicates,
    })

  const inFlight = new Set<Promise<void>>()
  const send = async (batch: Batch) => {
    let answered = false
    try {
      const body = encodeBody(format, batch.records)
      const answer = await uploadBatch(target, body, retryPolicy, {
        signal: options.signal,
        onRetry: (notice) => {
          summary.retries++
          message(`batch at ${batch.firstLine}: ${notice.reason}, retry ${notice.retry} in ${(notice.delayMs / 1000).toFixed(1)} s`)
        },
      })
      answered = true
      summary.accepted += answer.accepted
      summary.duplicates += answer.duplicates
    } catch (error) {
      if (error instanceof UploadRejected) {
        answered = true
        summary.rejected += batch.records.length
        message(`batch at ${batch.firstLine} (${batch.records.length} samples) refused: ${error.message}`)
        // Without a valid token no batch can succeed: stop instead of refusing them all.
        if (error.status === 401 || error.status === 403) stop(`the service refused the token (HTTP ${error.status})`)
      } else {
        summary.unsent += batch.records.length
        const reason = error instanceof UploadGaveUp ? `the service stayed unavailable (${error.message})` : errorText(error)
        if (!options.signal?.aborted) message(`batch at ${batch.firstLine} (${batch.records.length} samples) not sent: ${reason}`)
        stop(reason)
      }
    } finally {
      if (answered) summary.batches++
      reportProgress()
    }
  }
  const dispatch = async (batch: Batch) => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight)
    if (stopReason !== undefined) {
      summary.unsent += batch.records.length
      return
    }
    const upload: Promise<void> = send(batch).finally(() => inFlight.delete(upload))
    inFlight.add(upload)
    reportProgress()
  }

  let batch: Batch | undefined
  files: for (const file of options.files) {
    const lines = readLines(file)
    bytesOfCurrentFile = lines.bytesRead
    try {
      for await (const line of lines) {
        if (stopReason !== undefined) break files
        summary.linesRead++
        if (line.text.trim() === '') continue
        let record: Uint8Array
        try {
          record = encodeRecord(format, readJsonSample(parseJson(line.text), { line: line.number }), line.text)
        } catch (error) {
          summary.invalidLines++
          const where = `${file}:${line.number}`
          if (summary.invalidLines <= MAX_REPORTED_INVALID_LINES) message(`${where}: ${reasonOf(error)}`)
          if (summary.invalidLines === MAX_REPORTED_INVALID_LINES + 1) message('(further invalid lines are counted but not shown)')
          if (options.skipInvalid) continue
          // The batch holding the bad line is not sent; batches before it may be stored.
          stop(`invalid line ${where} (use --skip-invalid to send the other lines)`)
          break files
        }
        summary.samplesRead++
        batch ??= { records: [], firstLine: `${file}:${line.number}` }
        batch.records.push(record)
        if (batch.records.length >= batchSize) {
          const full = batch
          batch = undefined
          await dispatch(full)
        }
      }
    } catch (error) {
      stop(`cannot read ${file}: ${errorText(error)}`)
    } finally {
      bytesOfFinishedFiles += lines.bytesRead()
      bytesOfCurrentFile = () => 0
    }
  }
  if (batch) {
    if (stopReason === undefined) await dispatch(batch)
    else summary.unsent += batch.records.length
  }
  await Promise.all(inFlight)
  options.signal?.removeEventListener('abort', abort)

  summary.bytesRead = bytesOfFinishedFiles
  summary.elapsedMs = Math.round(performance.now() - startedAt)
  summary.samplesPerSecond = summary.elapsedMs > 0 ? ((summary.accepted + summary.duplicates) * 1000) / summary.elapsedMs : 0
  // resourceUsage reports kilobytes.
  summary.peakRssBytes = process.resourceUsage().maxRSS * 1024
  if (stopReason !== undefined) {
    summary.complete = false
    summary.stopReason = stopReason
  }
  return summary
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new Error(`not valid JSON: ${errorText(error)}`)
  }
}

/** The codec's message without its own "line N: " prefix (the caller prints file:line). */
function reasonOf(error: unknown): string {
  const text = errorText(error)
  return error instanceof DecodeError ? text.replace(/^(?:sample \S+?)?(?:, )?(?:line \d+)?: /, '') : text
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
