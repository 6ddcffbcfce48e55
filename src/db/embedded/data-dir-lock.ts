// One process at a time may open the embedded database's files: two PGlite instances on one
// data directory would corrupt it. The lock file also tells the command-line tools where the
// running instance serves SQL, so `npm run devices` works while the service runs.
import fs from 'node:fs'
import path from 'node:path'

export interface LockHolder {
  pid: number
  host?: string
  port?: number
}

export class DataDirInUse extends Error {
  override name = 'DataDirInUse'
  constructor(readonly holder: LockHolder) {
    super(
      `the embedded database in this DATA_DIR is in use by process ${holder.pid}` +
        (holder.port ? ` (serving SQL on ${holder.host}:${holder.port})` : '') +
        ': stop that process, or give this one another DATA_DIR',
    )
  }
}

/** DATA_DIR cannot be written (disk full, read-only file system, no permission): said in one line. */
export class DataDirUnusable extends Error {
  override name = 'DataDirUnusable'
  constructor(dataDir: string, error: NodeJS.ErrnoException) {
    const cause: Record<string, string> = { ENOSPC: 'no space left on device', EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'permission denied' }
    super(`cannot write to DATA_DIR (${dataDir}): ${cause[error.code ?? ''] ?? error.message}`)
  }
}

function lockFilePath(dataDir: string): string {
  return path.join(dataDir, 'embedded.lock')
}

/** The live process holding the lock, if any (a lock left by a crashed process is ignored). */
export function readLockHolder(dataDir: string): LockHolder | undefined {
  let holder: LockHolder
  try {
    holder = JSON.parse(fs.readFileSync(lockFilePath(dataDir), 'utf8')) as LockHolder
  } catch {
    return undefined
  }
  return isAlive(holder.pid) ? holder : undefined
}

/** Takes the lock for this process or throws DataDirInUse. */
export function acquireDataDirLock(dataDir: string): { publish(address: { host: string; port: number }): void; release(): void } {
  const file = lockFilePath(dataDir)
  const holder = readLockHolder(dataDir)
  if (holder && holder.pid !== process.pid) throw new DataDirInUse(holder)
  try {
    fs.mkdirSync(dataDir, { recursive: true })
    fs.writeFileSync(file, JSON.stringify({ pid: process.pid }))
  } catch (error) {
    throw new DataDirUnusable(dataDir, error as NodeJS.ErrnoException)
  }
  return {
    publish(address) {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, ...address }))
    },
    release() {
      fs.rmSync(file, { force: true })
    },
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
