// Starts the real service (src/main.ts) as a child process on the embedded TimescaleDB, with
// a temporary DATA_DIR and free ports, and waits until it logs "ready".
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url))
const TSX_LOADER = path.join(PROJECT_DIR, 'node_modules/tsx/dist/esm/index.mjs')

export interface RunningService {
  baseUrl: string
  metricsUrl: string
  databaseUrl: string
  token: string
  dataDir: string
  process: ChildProcess
  /** Sends the signal (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  output(): string
}

export interface StartOptions {
  env?: Record<string, string>
  /** Reuse a data directory (restart tests); a new temporary one otherwise. */
  dataDir?: string
  timeoutMs?: number
}

export function temporaryDir(prefix = 'telemetry-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** Runs a TypeScript entry point of the project (`src/cli/devices.ts`, ...) with tsx. */
export function spawnTs(entry: string, args: string[], env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ['--import', TSX_LOADER, path.join(PROJECT_DIR, entry), ...args], {
    cwd: PROJECT_DIR,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

export interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

/** Waits for a command-line tool started with spawnTs to exit; resolves with what it printed. */
export function runToExit(child: ChildProcess): Promise<Finished> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
}

export async function startService(options: StartOptions = {}): Promise<RunningService> {
  const dataDir = options.dataDir ?? temporaryDir()
  const child = spawnTs('src/main.ts', [], {
    HOST: '127.0.0.1',
    PORT: '0',
    EMBEDDED_PG_PORT: '0',
    METRICS_PORT: '0',
    DATA_DIR: dataDir,
    ...options.env,
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service not ready after ${options.timeoutMs ?? 90_000} ms:\n${output}`)), options.timeoutMs ?? 90_000)
    const check = (): void => {
      for (const line of output.split('\n')) {
        if (!line.includes('"msg":"ready"')) continue
        clearTimeout(timer)
        resolve(JSON.parse(line) as Record<string, unknown>)
        return
      }
    }
    child.stdout!.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`service exited with ${code} before it was ready:\n${output}`))
    })
  })

  const http = new URL(ready.http as string)
  const tokenFile = path.join(dataDir, 'local.token')
  return {
    baseUrl: `http://127.0.0.1:${http.port}`,
    metricsUrl: typeof ready.metrics === 'string' ? ready.metrics : '',
    databaseUrl: ready.database as string,
    token: fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '',
    dataDir,
    process: child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
    output: () => output,
  }
}
