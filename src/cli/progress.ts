// Progress while a tool runs (send, simulate): a bar on a terminal (cli-progress), a plain line
// every few seconds otherwise (logs of CI jobs and cron runs), nothing when asked to be quiet.
// Always on stderr, so stdout stays free for the tool's result (`--json`).
import cliProgress from 'cli-progress'

export type ProgressMode = 'bar' | 'lines' | 'off'

/** The bar on a terminal, plain lines in a log, nothing when quiet. */
export function progressMode(output: NodeJS.WriteStream, quiet = false): ProgressMode {
  return quiet ? 'off' : output.isTTY ? 'bar' : 'lines'
}

export interface ProgressOptions<State> {
  mode: ProgressMode
  output: NodeJS.WriteStream
  /** Starts each plain line ("send: 40% ..."). */
  tool: string
  /** The full bar, in the unit of `position`. */
  total: number
  initial: State
  position(state: State): number
  /** What the bar and each line say besides the share done, e.g. "1,200 of 4,000 samples sent". */
  describe(state: State, elapsedSeconds: number): string
  /** Between two plain lines. */
  intervalMs?: number
}

export interface ProgressDisplay<State> {
  update(state: State): void
  /** Prints a message line without garbling the bar. */
  log(message: string): void
  /** Ends the display; a log gets a last line with where the run ended. */
  stop(): void
}

/**
 * @example
 * const progress = startProgress({ mode: progressMode(process.stderr), output: process.stderr, tool: 'simulate',
 *   total: days, initial: 0, position: (day) => day, describe: (day) => `day ${day}/${days}` })
 */
export function startProgress<State>(options: ProgressOptions<State>): ProgressDisplay<State> {
  switch (options.mode) {
    case 'bar':
      return startBar(options)
    case 'lines':
      return startLines(options)
    case 'off':
      return { update() {}, log: (message) => options.output.write(`${message}\n`), stop() {} }
  }
}

function startBar<State>({ output, total, initial, position, describe }: ProgressOptions<State>): ProgressDisplay<State> {
  const startedAt = Date.now()
  const bar = new cliProgress.SingleBar(
    { stream: output, hideCursor: true, format: '{bar} {percentage}% | {text} | ETA {eta_formatted}', etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  )
  bar.start(total, position(initial), { text: describe(initial, 0) })
  return {
    update: (state) => bar.update(position(state), { text: describe(state, elapsedSeconds(startedAt)) }),
    log: (message) => {
      // Clear the bar's line, print, and let the next update draw the bar below.
      output.write(`\r\x1b[2K${message}\n`)
    },
    stop: () => bar.stop(),
  }
}

function startLines<State>({ output, tool, total, initial, position, describe, intervalMs = 5000 }: ProgressOptions<State>): ProgressDisplay<State> {
  const startedAt = Date.now()
  let latest = initial
  let printed = true
  const print = () => {
    const seconds = elapsedSeconds(startedAt)
    const done = position(latest)
    const share = total > 0 ? Math.min(done / total, 1) : 1
    const etaSeconds = done > 0 ? Math.round((seconds * (total - done)) / done) : undefined
    output.write(`${tool}: ${(share * 100).toFixed(0)}%, ${describe(latest, seconds)}, ETA ${etaSeconds === undefined ? '?' : `${etaSeconds} s`}\n`)
    printed = true
  }
  const timer = setInterval(() => !printed && print(), intervalMs)
  timer.unref() // a progress line must never keep the process alive
  return {
    update: (state) => {
      latest = state
      printed = false
    },
    log: (message) => output.write(`${message}\n`),
    stop: () => {
      clearInterval(timer)
      if (!printed) print()
    },
  }
}

function elapsedSeconds(startedAt: number): number {
  return (Date.now() - startedAt) / 1000
}

/** Per second of `elapsedSeconds`, rounded; 0 before any time has passed. */
export function perSecond(amount: number, elapsedSeconds: number): number {
  return elapsedSeconds > 0 ? Math.round(amount / elapsedSeconds) : 0
}
