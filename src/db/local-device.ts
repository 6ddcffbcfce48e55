// First start of the embedded default: with no device at all, create `local` and leave its
// token in DATA_DIR/local.token, so a newcomer can upload at once.
import fs from 'node:fs'
import path from 'node:path'
import type { Logger } from '../logger.ts'
import { addDevice, countDevices } from './devices.ts'
import type { Pool } from './pool.ts'

export function localTokenPath(dataDir: string): string {
  return path.join(dataDir, 'local.token')
}

/** Returns the token file's path when it was created now. */
export async function ensureLocalDevice(pool: Pool, dataDir: string, logger: Logger): Promise<string | undefined> {
  if ((await countDevices(pool)) > 0) return undefined
  const { token } = await addDevice(pool, 'local')
  const file = localTokenPath(dataDir)
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 })
  logger.info({ tokenFile: file }, 'created device "local"; its upload token is in the token file')
  return file
}
