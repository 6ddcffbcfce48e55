// The real service for the end-to-end figures: src/main.ts as its own process, on a fresh
// embedded database in a temporary DATA_DIR (or on --database-url), on free ports. Unlike the
// test harness it can run under `node --cpu-prof`, and it reports the process's peak RSS.
import fs from 'node:fs'
import { processMemoryBytes, startEntry } from '../../test/support/project-process.ts'
import { localTokenPath } from '../../src/config.ts'
import { withPostgresPassword } from '../../src/db/embedded/sql-credentials.ts'

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
  /** The service's process id (its CPU time is read from /proc). */
  pid: number
  /** Peak resident set size of the service process so far (VmHWM), bytes. */
  peakRssBytes(): number
  /** What the service logged so far (quoted when a phase fails). */
  output(): string
  /** SIGTERM, wait for the exit (and the profile to be written). */
  stop(): Promise<void>
}

export async function startBenchService(options: ServiceOptions): Promise<BenchService> {
  const service = await startEntry({
    entry: 'src/main.ts',
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      EMBEDDED_PG_PORT: '0',
      METRICS_PORT: '0',
      DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl ?? '',
      ...options.env,
    },
    readyMessage: 'ready',
    nodeFlags: options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [],
  })
  const tokenFile = localTokenPath(options.dataDir)
  return {
    baseUrl: service.ready.http as string,
    pid: service.child.pid!,
    databaseUrl: options.databaseUrl ?? withPostgresPassword(service.ready.database as string, options.dataDir),
    localToken: fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : undefined,
    output: service.output,
    peakRssBytes: () => processMemoryBytes(service.child.pid!, 'VmHWM'),
    async stop() {
      await service.stop()
    },
  }
}
