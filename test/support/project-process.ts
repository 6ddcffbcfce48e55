// Runs an entry point of this project (src/main.ts, src/cli/db.ts, ...) as a process of its
// own under tsx, and waits for the JSON log line that says it is ready. The tests, the
// benchmark and the load test all start the real service this way.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url))
// tsx's loader by path: the child needs no npx or PATH lookup.
const TSX_LOADER = path.join(PROJECT_DIR, 'node_modules/tsx/dist/esm/index.mjs')

/** Starts `entry` (relative to the project) with tsx; stdout and stderr are piped. */
export function spawnEntry(entry: string, args: string[], env: Record<string, string | undefined>, nodeFlags: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, '--import', TSX_LOADER, path.join(PROJECT_DIR, entry), ...args], {
    cwd: PROJECT_DIR,
    // `info` at least: the ready line is logged at that level.
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

export interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

/** Waits for a child (spawnEntry's, or any with piped output) to exit; resolves with what it printed. */
export function runToExit(child: ChildProcess): Promise<Finished> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface EntryProcess {
  child: ChildProcess
  /** The ready log line, parsed (`http`, `metrics`, `database`, `url`, ... as the entry logs them). */
  ready: Record<string, unknown>
  exited: Promise<Exit>
  /** Everything the process printed so far, stdout and stderr. */
  output(): string
  /** Sends the signal (SIGTERM by default) unless the process has ended, and waits for the end. */
  stop(signal?: NodeJS.Signals): Promise<Exit>
}

export interface EntryOptions {
  entry: string
  env: Record<string, string | undefined>
  /** The `msg` of the log line that says the process is ready. */
  readyMessage: string
  nodeFlags?: string[]
  timeoutMs?: number
}

export async function startEntry(options: EntryOptions): Promise<EntryProcess> {
  return untilReady(spawnEntry(options.entry, [], options.env, options.nodeFlags), { label: options.entry, ...options })
}

/**
 * Waits for a started child (piped output) to log `readyMessage`: the way to start any process
 * that logs it, under tsx (startEntry) or a compiled one (`node dist/main.js`).
 */
export async function untilReady(child: ChildProcess, options: { label: string; readyMessage: string; timeoutMs?: number }): Promise<EntryProcess> {
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const marker = `"msg":${JSON.stringify(options.readyMessage)}`
  const timeoutMs = options.timeoutMs ?? 120_000

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.label} not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs)
    child.stdout!.on('data', () => {
      const line = output.split('\n').find((candidate) => candidate.includes(marker))
      if (!line) return
      clearTimeout(timer)
      resolve(JSON.parse(line) as Record<string, unknown>)
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`${options.label} exited with ${code ?? signal} before it was ready:\n${output}`))
    })
  })

  return {
    child,
    ready,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** A memory figure of a Linux process from /proc: VmRSS (resident now) or VmHWM (its peak), bytes. */
export function processMemoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kilobytes = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]
  return kilobytes ? Number(kilobytes) * 1024 : 0
}
