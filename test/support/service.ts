// Starts the real service (src/main.ts) as a child process on the embedded TimescaleDB, with
// a temporary DATA_DIR and free ports, and waits until it logs "ready".
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startEntry } from './project-process.ts'
import { localTokenPath } from '../../src/config.ts'
import { withPostgresPassword } from '../../src/db/embedded/sql-credentials.ts'

export { PROJECT_DIR, runToExit, spawnEntry as spawnTs, type Finished } from './project-process.ts'

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

export async function startService(options: StartOptions = {}): Promise<RunningService> {
  const dataDir = options.dataDir ?? temporaryDir()
  const service = await startEntry({
    entry: 'src/main.ts',
    env: { HOST: '127.0.0.1', PORT: '0', EMBEDDED_PG_PORT: '0', METRICS_PORT: '0', DATA_DIR: dataDir, ...options.env },
    readyMessage: 'ready',
    timeoutMs: options.timeoutMs ?? 90_000,
  })
  const http = new URL(service.ready.http as string)
  const tokenFile = localTokenPath(dataDir)
  return {
    baseUrl: `http://127.0.0.1:${http.port}`,
    metricsUrl: typeof service.ready.metrics === 'string' ? service.ready.metrics : '',
    databaseUrl: withPostgresPassword(service.ready.database as string, dataDir, options.env?.EMBEDDED_PG_PASSWORD),
    token: fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '',
    dataDir,
    process: service.child,
    stop: async (signal) => (await service.stop(signal)).code,
    output: service.output,
  }
}

