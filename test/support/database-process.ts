// Runs `npm run db` (src/cli/db.ts): the embedded TimescaleDB as a process of its own, so a
// test can stop it, kill it and start it again under a running service.
import type { ChildProcess } from 'node:child_process'
import { startEntry } from './project-process.ts'
import { withPostgresPassword } from '../../src/db/embedded/sql-credentials.ts'

export interface DatabaseProcess {
  url: string
  process: ChildProcess
  /** Sends the signal (SIGTERM by default) and resolves with the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>
  output(): string
}

export async function startDatabaseProcess(options: { dataDir: string; port: number; timeoutMs?: number }): Promise<DatabaseProcess> {
  const database = await startEntry({
    entry: 'src/cli/db.ts',
    env: { DATA_DIR: options.dataDir, EMBEDDED_PG_HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(options.port), DATABASE_URL: '' },
    readyMessage: 'database ready',
    timeoutMs: options.timeoutMs ?? 90_000,
  })
  return {
    url: withPostgresPassword(database.ready.url as string, options.dataDir),
    process: database.child,
    async stop(signal) {
      const { code, signal: ended } = await database.stop(signal)
      return code ?? ended
    },
    output: database.output,
  }
}
