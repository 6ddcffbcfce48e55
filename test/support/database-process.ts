// Runs `npm run db` (src/cli/db.ts): the embedded TimescaleDB as a process of its own, so a
// test can stop it, kill it and start it again under a running service.
import type { ChildProcess } from 'node:child_process'
import { spawnTs } from './service.ts'

export interface DatabaseProcess {
  url: string
  process: ChildProcess
  /** Sends the signal (SIGTERM by default) and resolves with the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>
  output(): string
}

export async function startDatabaseProcess(options: { dataDir: string; port: number; timeoutMs?: number }): Promise<DatabaseProcess> {
  const child = spawnTs('src/cli/db.ts', [], { DATA_DIR: options.dataDir, EMBEDDED_PG_HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(options.port), DATABASE_URL: '' })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  const url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 90_000
    const timer = setTimeout(() => reject(new Error(`db not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs)
    child.stdout!.on('data', () => {
      const line = output.split('\n').find((text) => text.includes('"msg":"database ready"'))
      if (!line) return
      clearTimeout(timer)
      resolve((JSON.parse(line) as { url: string }).url)
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`db exited with ${code} before it was ready:\n${output}`))
    })
  })
  return {
    url,
    process: child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
    output: () => output,
  }
}
