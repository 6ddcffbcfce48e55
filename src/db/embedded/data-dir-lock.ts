// One process at a time may open the embedded database's files: two PGlite instances on one
// data directory would corrupt it. The lock file also tells the command-line tools where the
// running instance serves SQL, so `npm run devices` works while the service runs.
//
// Taking the lock is one atomic step: the record is written to a file of this process's own
// and hard-linked to DATA_DIR/embedded.lock, which fails when the lock exists. Two starts at
// once cannot both win, and no reader ever sees a half-written record.
//
// A lock left behind by a dead process is taken over, but only when this host can tell that
// it is dead. A pid means something only on the host (the pid namespace) that wrote it: two
// containers sharing one volume both run as PID 1, and to each of them the other's "pid 1" is
// itself. So the record carries the hostname (a container's own, unless set alike on purpose)
// and a random instance id:
// - a lock from another hostname is held, whatever its pid: this host cannot see that process.
//   If nothing runs there any more, the operator deletes the file (the error says which);
// - a lock from this hostname with our own pid but another instance is a previous life of this
//   process (a container restarted as PID 1 again after a crash): stale, taken over;
// - a lock from this hostname with another pid is held while that pid lives.
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface LockHolder {
  pid: number
  /** os.hostname() of the holder; absent in locks written before it was recorded (this host). */
  hostname?: string
  /** Random per process: tells this process from an earlier one that had the same pid. */
  instance?: string
  /** Where the holder serves SQL, once it does. */
  host?: string
  port?: number
}

export class DataDirInUse extends Error {
  override name = 'DataDirInUse'
  constructor(
    readonly holder: LockHolder,
    dataDir: string,
  ) {
    const elsewhere = !onThisHost(holder)
    super(
      `the embedded database in this DATA_DIR is in use by process ${holder.pid}` +
        (elsewhere ? ` on host ${holder.hostname}` : '') +
        (holder.port ? ` (serving SQL on ${holder.host}:${holder.port})` : '') +
        ': stop that process, or give this one another DATA_DIR' +
        (elsewhere ? ` (if nothing runs there any more, delete ${lockFilePath(dataDir)})` : ''),
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

const THIS_PROCESS = { pid: process.pid, hostname: os.hostname(), instance: crypto.randomUUID() }

function lockFilePath(dataDir: string): string {
  return path.join(dataDir, 'embedded.lock')
}

/** The other process holding the lock, if any: undefined when it is free, stale or this process's. */
export function readLockHolder(dataDir: string): LockHolder | undefined {
  let holder: LockHolder | undefined
  try {
    holder = readHolder(lockFilePath(dataDir))
  } catch {
    return undefined // unreadable: taking the lock says why in one line (DataDirUnusable)
  }
  return holder && !isThisProcess(holder) && !isStale(holder) ? holder : undefined
}

/** Whether the holder runs on this host, so that its SQL address (loopback as a rule) is reachable. */
export function onThisHost(holder: LockHolder): boolean {
  return (holder.hostname ?? THIS_PROCESS.hostname) === THIS_PROCESS.hostname
}

/** Takes the lock for this process or throws DataDirInUse. */
export function acquireDataDirLock(dataDir: string): { publish(address: { host: string; port: number }): void; release(): void } {
  const file = lockFilePath(dataDir)
  try {
    fs.mkdirSync(dataDir, { recursive: true })
    takeLock(file, dataDir)
  } catch (error) {
    if (error instanceof DataDirInUse) throw error
    throw new DataDirUnusable(dataDir, error as NodeJS.ErrnoException)
  }
  return {
    publish(address) {
      // Replaced by rename: a tool reading the lock sees the old record or the new one.
      const draft = `${file}.${THIS_PROCESS.instance}`
      fs.writeFileSync(draft, JSON.stringify({ ...THIS_PROCESS, ...address }))
      fs.renameSync(draft, file)
    },
    release() {
      const holder = readHolder(file)
      if (holder && isThisProcess(holder)) fs.rmSync(file, { force: true })
    },
  }
}

function takeLock(file: string, dataDir: string): void {
  const draft = `${file}.${THIS_PROCESS.instance}`
  fs.writeFileSync(draft, JSON.stringify(THIS_PROCESS))
  try {
    // A few rounds: each lost one means another process changed the lock in between.
    for (let round = 0; round < 5; round++) {
      if (linked(draft, file)) return
      const holder = readHolder(file)
      if (holder === undefined) continue // removed in between: try again
      if (isThisProcess(holder)) return
      if (!isStale(holder)) throw new DataDirInUse(holder, dataDir)
      removeIfStill(file, holder)
    }
    throw new DataDirInUse(readHolder(file) ?? { pid: 0 }, dataDir)
  } finally {
    fs.rmSync(draft, { force: true })
  }
}

/** Hard link: atomic, and fails with EEXIST when the lock exists (unlike a plain write). */
function linked(from: string, to: string): boolean {
  try {
    fs.linkSync(from, to)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/**
 * Removes a stale lock unless another process replaced it since it was read: moved aside
 * first (atomic), checked, and put back when it turns out to be a fresh one.
 */
function removeIfStill(file: string, stale: LockHolder): void {
  const aside = `${file}.stale-${THIS_PROCESS.instance}`
  try {
    fs.renameSync(file, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = readHolder(aside)
  if (moved && (moved.instance !== stale.instance || moved.pid !== stale.pid)) linked(aside, file)
  fs.rmSync(aside, { force: true })
}

/** The record, or undefined when there is none; a record that is not JSON counts as a dead holder. */
function readHolder(file: string): LockHolder | undefined {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    return JSON.parse(text) as LockHolder
  } catch {
    return { pid: 0, hostname: THIS_PROCESS.hostname }
  }
}

function isThisProcess(holder: LockHolder): boolean {
  return holder.instance === THIS_PROCESS.instance
}

function isStale(holder: LockHolder): boolean {
  if (!onThisHost(holder)) return false
  if (holder.pid === THIS_PROCESS.pid) return true // our pid, another instance: an earlier life of this process
  return !isAlive(holder.pid)
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
