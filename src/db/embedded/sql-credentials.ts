// Who may log in on the SQL port, and with what password (SCRAM-SHA-256 only).
//
// - `postgres`: the password in DATA_DIR/postgres.password (generated at first start, mode
//   0600), or EMBEDDED_PG_PASSWORD when the operator sets one.
// - Any other role with LOGIN and a SCRAM password in pg_authid (`alter role telemetry_reader
//   password '...'`), exactly as on a PostgreSQL server; its sessions run as that role.
// - The service's own pool: `postgres` with a second password that only this process knows,
//   so the server can tell its own connections (trusted, cheap to switch between) from
//   outside clients (whose session state is saved and restored around every exchange).
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createScramSha256Data, verifyScramSha256Password, type ScramSha256Data } from 'pg-gateway'

export const PASSWORD_FILE = 'postgres.password'

/** DATA_DIR/postgres.password, written at first start unless the operator set a password. */
export function postgresPassword(dataDir: string, configured: string | undefined): { password: string; file: string | undefined } {
  if (configured) return { password: configured, file: undefined }
  const file = path.join(dataDir, PASSWORD_FILE)
  try {
    fs.writeFileSync(file, `${crypto.randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  return { password: readPasswordFile(dataDir)!, file }
}

/** The generated password, for tools that reach a running service's database; undefined when absent. */
export function readPasswordFile(dataDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dataDir, PASSWORD_FILE), 'utf8').trim()
  } catch {
    return undefined
  }
}

/**
 * The service logs its database URL with the password masked; a local tool or test that has
 * the same DATA_DIR logs in like any SQL client, with the `postgres` password from the file
 * (or the one the operator set).
 */
export function withPostgresPassword(loggedUrl: string, dataDir: string, configured?: string): string {
  const url = new URL(loggedUrl)
  const password = configured ?? readPasswordFile(dataDir)
  if (!url.password || password === undefined) return loggedUrl
  url.password = encodeURIComponent(password)
  return url.toString()
}

/** pg_authid's `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as pg-gateway wants it. */
export function parseScramVerifier(verifier: string | null | undefined): ScramSha256Data | undefined {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier ?? '')
  return match ? { iterations: Number(match[1]), salt: match[2]!, storedKey: match[3]!, serverKey: match[4]! } : undefined
}

/** The verifier of `password` with the given salt and iteration count (RFC 5802). */
function scramWithSalt(password: string, salt: string, iterations: number): ScramSha256Data {
  const salted = crypto.pbkdf2Sync(password.normalize('NFKC'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256')
  const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest()
  return {
    salt,
    iterations,
    storedKey: crypto.createHash('sha256').update(clientKey).digest('base64'),
    serverKey: crypto.createHmac('sha256', salted).update('Server Key').digest('base64'),
  }
}

export interface LoginRole {
  name: string
  scram: ScramSha256Data
}

export class SqlCredentials {
  /** The password of the service's own pool: random, in memory only. */
  readonly internalPassword = crypto.randomBytes(24).toString('base64url')
  private readonly internal: ScramSha256Data

  private constructor(private readonly postgres: ScramSha256Data) {
    // Same salt as the human password: the server names one salt before it knows which of the
    // two passwords the client holds.
    this.internal = scramWithSalt(this.internalPassword, postgres.salt, postgres.iterations)
  }

  static async create(postgresPassword: string): Promise<SqlCredentials> {
    return new SqlCredentials(await createScramSha256Data(postgresPassword))
  }

  /** What pg-gateway sends in the SCRAM exchange; a made-up verifier for unknown roles. */
  async scramFor(username: string, lookupRole: (name: string) => Promise<ScramSha256Data | undefined>): Promise<ScramSha256Data> {
    // A copy: `verify` may point it at the internal keys for this one connection.
    if (username === 'postgres') return { ...this.postgres }
    return (await lookupRole(username)) ?? scramWithSalt(crypto.randomBytes(16).toString('hex'), crypto.randomBytes(16).toString('base64'), 4096)
  }

  /**
   * Checks the client's proof; 'internal' when it was the pool's password (then the server's
   * signature must come from the internal keys too, so `data` is switched to them).
   */
  async verify(params: { username: string; authMessage: string; clientProof: string; scramSha256Data: ScramSha256Data }): Promise<false | 'client' | 'internal'> {
    const { username, authMessage, clientProof, scramSha256Data } = params
    if (await verifyScramSha256Password({ authMessage, clientProof, storedKey: scramSha256Data.storedKey })) return 'client'
    if (username !== 'postgres' || !(await verifyScramSha256Password({ authMessage, clientProof, storedKey: this.internal.storedKey }))) return false
    Object.assign(scramSha256Data, this.internal)
    return 'internal'
  }
}
