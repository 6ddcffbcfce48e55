// The ports a service needs, checked before it touches the database: a busy port must stop
// the start in its first second with one line naming the variable to change, not after the
// migrations ran and the local device was created, and not with a stack.
import net from 'node:net'
import type { Config } from './config.ts'
import { DataDirInUse, readLockHolder } from './db/embedded/data-dir-lock.ts'

export class PortInUse extends Error {
  override name = 'PortInUse'
}

interface Listener {
  /** The environment variable that sets the port. */
  variable: string
  host: string
  port: number
}

/** The listeners of this configuration; port 0 (any free port) can never be busy. */
export function listenersOf(config: Config): Listener[] {
  const listeners: Listener[] = [
    { variable: 'PORT', host: config.host, port: config.port },
    { variable: 'METRICS_PORT', host: config.metricsHost, port: config.metricsPort },
  ]
  if (!config.databaseUrl) listeners.push({ variable: 'EMBEDDED_PG_PORT', host: config.embeddedPgHost, port: config.embeddedPgPort })
  return listeners.filter((listener) => listener.port !== 0)
}

/**
 * Throws DataDirInUse when another process runs this embedded database, PortInUse when one of
 * the ports cannot be bound now. A probe, so another process
 * can still take the port before the real listener does: `portInUse` words that case the same.
 */
export async function checkFreeToStart(config: Config): Promise<void> {
  // A second `npm start` on the same data directory finds its ports taken by the first: the
  // precise reason is the data directory, so that is what it is told.
  const holder = config.databaseUrl ? undefined : readLockHolder(config.dataDir)
  if (holder) throw new DataDirInUse(holder, config.dataDir)
  for (const listener of listenersOf(config)) {
    const error = await probe(listener.host, listener.port)
    if (error) throw portInUse(error, config) ?? error
  }
}

/** The one-line PortInUse for a listen error (EADDRINUSE, EACCES), or undefined for any other error. */
export function portInUse(error: unknown, config: Config): PortInUse | undefined {
  const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown }
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined
  const listener = listenersOf(config).find((candidate) => candidate.port === port)
  const where = listener ? `${listener.host}:${listener.port}` : `port ${String(port)}`
  const what = code === 'EADDRINUSE' ? 'is in use by another process' : 'may not be bound by this user'
  const fix = listener ? `set ${listener.variable} to a free port (0 picks one)` : 'free the port or change its setting'
  return new PortInUse(`${where} ${what}: stop that process or ${fix}`)
}

function probe(host: string, port: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', (error) => resolve(Object.assign(error, { port })))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}
