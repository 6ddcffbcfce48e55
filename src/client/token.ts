// Which bearer token a send uses: --token, else TELEMETRY_TOKEN, else (only against a
// service on this machine) the `local.token` that the service writes into its DATA_DIR.
import { readFile } from 'node:fs/promises'
import type { ClientConfig } from '../config.ts'

export class TokenMissing extends Error {
  override name = 'TokenMissing'
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

export async function resolveToken(url: string, flagToken: string | undefined, config: ClientConfig): Promise<string> {
  const given = flagToken?.trim() || config.token
  if (given) return given
  // The local token is only ever offered to a local service, never sent to another host.
  if (!LOCAL_HOSTS.has(new URL(url).hostname)) {
    throw new TokenMissing(`no token for ${url}: pass --token or set TELEMETRY_TOKEN`)
  }
  const file = config.localTokenFile
  try {
    const token = (await readFile(file, 'utf8')).trim()
    if (token) return token
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  throw new TokenMissing(`no token: pass --token, set TELEMETRY_TOKEN, or start the service once so that it writes ${file}`)
}
