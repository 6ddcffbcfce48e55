// Progress while a send runs: a bar on a terminal (cli-progress), a plain line every few
// seconds otherwise (logs of CI jobs and cron runs), nothing when asked to be quiet.
// Always on stderr, so stdout stays free for `--json`.
import cliProgress from 'cli-progress'
import { formatBytes } from '../byte-size.ts'
import { count } from './summary.ts'

export interface ProgressState {
  bytesRead: number
  samplesRead: number
  /** Samples the service answered for (accepted + duplicates). */
  samplesSent: number
}

export interface ProgressReporter {
  update(state: ProgressState): void
  /** Prints a message line without garbling the bar. */
  log(message: string): void
  stop(): void
}

export type ProgressMode = 'bar' | 'lines' | 'off'

export interface ProgressOptions {
  mode: ProgressMode
  totalBytes: number
  output: NodeJS.WriteStream
  /** Between two plain lines. */
  intervalMs?: number
}

export function startProgress(options: ProgressOptions): ProgressReporter {
  switch (options.mode) {
    case 'bar':
      return startBar(options)
    case 'lines':
      return startLines(options)
    case 'off':
      return { update() {}, log: (message) => options.output.write(`${message}\n`), stop() {} }
  }
}

function startBar({ totalBytes, output }: ProgressOptions): ProgressReporter {
  const startedAt = Date.now()
  const bar = new cliProgress.SingleBar(
    {
      stream: output,
      hideCursor: true,
      // The percentage is of bytes read; the samples column says how many of the samples read
      // so far the service has answered for, so a run waiting on retries does not look done.
      format: '{bar} {percentage}% read | {read} of {size} | {samples} of {samplesRead} samples sent | {rate} samples/s | ETA {eta_formatted}',
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  )
  const payload = (state: ProgressState) => ({
    read: formatBytes(state.bytesRead),
    size: formatBytes(totalBytes),
    samples: count(state.samplesSent),
    samplesRead: count(state.samplesRead),
    rate: count(rate(state.samplesSent, startedAt)),
  })
  bar.start(totalBytes, 0, payload({ bytesRead: 0, samplesRead: 0, samplesSent: 0 }))
  return {
    update: (state) => bar.update(state.bytesRead, payload(state)),
    log: (message) => {
      // Clear the bar's line, print, and let the next update draw the bar below.
      output.write(`\r\x1b[2K${message}\n`)
    },
    stop: () => bar.stop(),
  }
}

function startLines({ totalBytes, output, intervalMs = 5000 }: ProgressOptions): ProgressReporter {
  const startedAt = Date.now()
  let latest: ProgressState = { bytesRead: 0, samplesRead: 0, samplesSent: 0 }
  const print = () => {
    const seconds = (Date.now() - startedAt) / 1000
    const share = totalBytes > 0 ? latest.bytesRead / totalBytes : 1
    const etaSeconds = latest.bytesRead > 0 ? Math.round((seconds * (totalBytes - latest.bytesRead)) / latest.bytesRead) : undefined
    output.write(
      `send: ${(share * 100).toFixed(0)}% read (${formatBytes(latest.bytesRead)} of ${formatBytes(totalBytes)}), ` +
        `${count(latest.samplesSent)} of ${count(latest.samplesRead)} samples sent, ${count(rate(latest.samplesSent, startedAt))} samples/s, ` +
        `ETA ${etaSeconds === undefined ? '?' : `${etaSeconds} s`}\n`,
    )
  }
  const timer = setInterval(print, intervalMs)
  timer.unref() // a progress line must never keep the process alive
  return {
    update: (state) => {
      latest = state
    },
    log: (message) => output.write(`${message}\n`),
    stop: () => clearInterval(timer),
  }
}

function rate(samples: number, startedAt: number): number {
  const seconds = (Date.now() - startedAt) / 1000
  return seconds > 0 ? Math.round(samples / seconds) : 0
}
