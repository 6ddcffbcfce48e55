// First start of the embedded default: with no device at all, create `local` and leave its
// token in DATA_DIR/local.token, so a newcomer can upload at once.
import fs from 'node:fs'
import type { Logger } from '../logger.ts'
import { addDevice, countDevices } from './devices.ts'
import type { Pool } from './pool.ts'

/** Returns the token file's path (config.localTokenFile) when it was created now. */
export async function ensureLocalDevice(pool: Pool, file: string, logger: Logger): Promise<string | undefined> {
  if ((await countDevices(pool)) > 0) return undefined
  const { token } = await addDevice(pool, 'local')
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 })
  logger.info({ tokenFile: file }, 'created device "local"; its upload token is in the token file')
  return file
}
