// The embedded database's data-directory lock at its own level, in this process: which lock
// files left by others it takes over and which it respects (two starts racing on one DATA_DIR
// are in shutdown.test.ts, with real processes).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { acquireDataDirLock, DataDirInUse, readLockHolder } from '../src/db/embedded/data-dir-lock.ts'
import { temporaryDir } from './support/service.ts'

const created: string[] = []
afterEach(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function dirWithLock(record: unknown): string {
  const dir = temporaryDir('telemetry-lock-')
  created.push(dir)
  fs.writeFileSync(path.join(dir, 'embedded.lock'), JSON.stringify(record))
  return dir
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!
}

const lockOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'embedded.lock'), 'utf8')) as Record<string, unknown>

describe('the DATA_DIR lock', () => {
  it('takes over a lock left by a dead process on this host, and removes only its own on release', () => {
    const dir = dirWithLock({ pid: deadPid(), hostname: os.hostname(), instance: 'crashed' })
    expect(readLockHolder(dir)).toBeUndefined()
    const lock = acquireDataDirLock(dir)
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, hostname: os.hostname() })
    expect(fs.readdirSync(dir)).toEqual(['embedded.lock'])
    lock.publish({ host: '127.0.0.1', port: 5999 })
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, host: '127.0.0.1', port: 5999 })
    lock.release()
    expect(fs.existsSync(path.join(dir, 'embedded.lock'))).toBe(false)
  })

  it('takes over a lock with this very pid from an earlier instance: a container restarted as PID 1', () => {
    const dir = dirWithLock({ pid: process.pid, hostname: os.hostname(), instance: 'before-the-restart' })
    acquireDataDirLock(dir).release()
  })

  it('respects a live process on this host', () => {
    const dir = dirWithLock({ pid: process.ppid, hostname: os.hostname(), instance: 'parent' })
    expect(() => acquireDataDirLock(dir)).toThrow(new RegExp(`in use by process ${process.ppid}: stop that process`))
    expect(lockOf(dir)).toMatchObject({ instance: 'parent' })
  })

  it('respects a lock from another host even when its pid is ours (two containers, both PID 1, one volume)', () => {
    const dir = dirWithLock({ pid: process.pid, hostname: 'other-container', instance: 'theirs', host: '127.0.0.1', port: 5432 })
    expect(readLockHolder(dir)).toMatchObject({ hostname: 'other-container' })
    let refusal: unknown
    try {
      acquireDataDirLock(dir)
    } catch (error) {
      refusal = error
    }
    expect(refusal).toBeInstanceOf(DataDirInUse)
    expect((refusal as Error).message).toBe(
      `the embedded database in this DATA_DIR is in use by process ${process.pid} on host other-container (serving SQL on 127.0.0.1:5432): ` +
        `stop that process, or give this one another DATA_DIR (if nothing runs there any more, delete ${path.join(dir, 'embedded.lock')})`,
    )
    expect(lockOf(dir)).toMatchObject({ instance: 'theirs' })
  })
})
