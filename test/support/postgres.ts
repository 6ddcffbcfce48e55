// A plain PostgreSQL 15 server without TimescaleDB (Debian's postgresql-15), started on a
// temporary directory and port, to test what the service does on a server that lacks it.
// initdb refuses to run as root, so as root the server runs as the `postgres` user.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { freePort } from './prometheus.ts'
import { temporaryDir } from './service.ts'

const BIN = '/usr/lib/postgresql/15/bin'

export interface PlainPostgres {
  url: string
  stop(): void
}

function asPostgresUser(command: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0
  execFileSync(asRoot ? 'runuser' : path.join(BIN, command), asRoot ? ['-u', 'postgres', '--', path.join(BIN, command), ...args] : args, { stdio: 'pipe' })
}

export async function startPlainPostgres(): Promise<PlainPostgres> {
  const dir = temporaryDir('plain-postgres-')
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir])
  const dataDir = path.join(dir, 'data')
  const port = await freePort()
  asPostgresUser('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres'])
  asPostgresUser('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-w', 'start'])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      asPostgresUser('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop'])
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
