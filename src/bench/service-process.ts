// The real service for the end-to-end figures: src/main.ts as its own process, on a fresh
// embedded database in a temporary DATA_DIR (or on --database-url), on free ports. Unlike the
// test harness it can run under `node --cpu-prof`, and it reports the process's peak RSS.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { localTokenPath } from '../db/local-device.ts'

const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url))

export interface ServiceOptions {
  dataDir: string
  databaseUrl?: string
  /** Write a V8 CPU profile of the service into this directory when it stops. */
  cpuProfileDir?: string
  /** Extra environment (limits raised for the bench). */
  env?: Record<string, string>
}

export interface BenchService {
  baseUrl: string
  /** postgres:// URL of the database the service writes to. */
  databaseUrl: string
  /** Token of the embedded `local` device; undefined on --database-url (the bench adds one). */
  localToken: string | undefined
  /** Peak resident set size of the service process so far (VmHWM), bytes. */
  peakRssBytes(): number
  /** SIGTERM, wait for the exit (and the profile to be written). */
  stop(): Promise<void>
}

export async function startBenchService(options: ServiceOptions): Promise<BenchService> {
  const nodeFlags = ['--import', 'tsx']
  if (options.cpuProfileDir) nodeFlags.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir)
  const child = spawn(process.execPath, [...nodeFlags, path.join(PROJECT_DIR, 'src/main.ts')], {
    cwd: PROJECT_DIR,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      EMBEDDED_PG_PORT: '0',
      METRICS_PORT: '0',
      DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl ?? '',
      LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  const ready = await new Promise<{ http: string; database: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service not ready after 120 s:\n${output}`)), 120_000)
    child.stdout.on('data', () => {
      const line = output.split('\n').find((candidate) => candidate.includes('"msg":"ready"'))
      if (!line) return
      clearTimeout(timer)
      resolve(JSON.parse(line) as { http: string; database: string })
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`service exited before it was ready:\n${output}`))
    })
  })
  const tokenFile = localTokenPath(options.dataDir)
  return {
    baseUrl: ready.http,
    databaseUrl: options.databaseUrl ?? ready.database,
    localToken: fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : undefined,
    peakRssBytes: () => peakRss(child.pid!),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** VmHWM of a Linux process: its resident set's high-water mark. */
function peakRss(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kilobytes = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
    return kilobytes ? Number(kilobytes) * 1024 : 0
  } catch {
    return 0
  }
}
