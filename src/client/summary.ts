// What a send run did, as the counters the CLI prints at the end (and `--json` emits).
import { formatBytes } from '../byte-size.ts'

export interface SendSummary {
  /** Files named on the command line. */
  files: number
  /** Lines read, blank ones included. */
  linesRead: number
  /** Lines that passed the checks and became samples. */
  samplesRead: number
  /** Lines refused by the checks (not JSON, unknown field or kind, bad timestamp, ...). */
  invalidLines: number
  /** Samples the service stored. */
  accepted: number
  /** Samples the service already had (sent before, or a retried batch). */
  duplicates: number
  /** Samples in batches the service refused for good (a 4xx other than 429). */
  rejected: number
  /** Checked samples that never got an answer: the run stopped or retries were used up. */
  unsent: number
  /** Upload attempts after the first, over all batches. */
  retries: number
  /** Batches answered by the service (stored or refused). */
  batches: number
  bytesRead: number
  elapsedMs: number
  /** Samples answered (accepted + duplicates) per second of the whole run. */
  samplesPerSecond: number
  /** The process's peak resident set size: what the streaming costs in memory. */
  peakRssBytes: number
  /** False when the run stopped before the end of its files; `stopReason` says why. */
  complete: boolean
  stopReason?: string
}

/** The summary for people: one counter a line, aligned. */
export function formatSummary(summary: SendSummary): string {
  const rows: [string, string][] = [
    ['files', count(summary.files)],
    ['lines read', count(summary.linesRead)],
    ['invalid lines', count(summary.invalidLines)],
    ['samples accepted', count(summary.accepted)],
    ['duplicates', count(summary.duplicates)],
    ['rejected', count(summary.rejected)],
    ['not sent', count(summary.unsent)],
    ['retries', count(summary.retries)],
    ['elapsed', `${(summary.elapsedMs / 1000).toFixed(1)} s`],
    ['samples/s', count(Math.round(summary.samplesPerSecond))],
    ['peak RSS', formatBytes(summary.peakRssBytes)],
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)
  if (!summary.complete) lines.push(`stopped early: ${summary.stopReason ?? 'unknown reason'}`)
  return lines.join('\n')
}

export function count(value: number): string {
  return value.toLocaleString('en-US')
}

