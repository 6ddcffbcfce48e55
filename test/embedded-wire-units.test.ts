// The embedded SQL endpoint's own pieces at their own level: the frame guard (what reaches
// pg-gateway), the scheduler with a fake backend (whose exchange runs when), and the COPY
// translation. The real endpoint with real clients is embedded-sql-endpoint.test.ts.
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { FrameGuard, FrameRejected } from '../src/db/embedded/frame-guard.ts'
import { ExchangeCancelled, SessionScheduler } from '../src/db/embedded/session-scheduler.ts'
import { translateCopy, unsafeCopy } from '../src/db/embedded/copy-translation.ts'
import { readyForQuery, simpleQuery } from '../src/db/embedded/wire-protocol.ts'
import { parseScramVerifier, postgresPassword, SqlCredentials } from '../src/db/embedded/sql-credentials.ts'
import { mayChangeSession } from '../src/db/embedded/session-state.ts'

function startup(): Buffer {
  const body = Buffer.from('user\0postgres\0\0')
  const packet = Buffer.alloc(8)
  packet.writeInt32BE(8 + body.length, 0)
  packet.writeInt32BE(196608, 4)
  return Buffer.concat([packet, body])
}

function sslRequest(): Buffer {
  const packet = Buffer.alloc(8)
  packet.writeInt32BE(8, 0)
  packet.writeInt32BE(80877103, 4)
  return packet
}

function header(type: string, length: number): Buffer {
  const bytes = Buffer.alloc(5)
  bytes.write(type, 0, 'latin1')
  bytes.writeInt32BE(length, 1)
  return bytes
}

function rejection(guard: FrameGuard, ...chunks: Buffer[]): string | undefined {
  try {
    for (const chunk of chunks) guard.check(chunk)
    return undefined
  } catch (error) {
    return error instanceof FrameRejected ? error.code : String(error)
  }
}

describe('frame guard', () => {
  it('passes a well-formed stream however it is cut into chunks', () => {
    const stream = Buffer.concat([sslRequest(), startup(), simpleQuery('select 1'), simpleQuery('x'.repeat(5000)), header('S', 4)])
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 20 }), (cuts) => {
        const guard = new FrameGuard(64 * 1024)
        const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b)
        for (let i = 1; i < points.length; i++) guard.check(stream.subarray(points[i - 1], points[i]))
      }),
    )
  })

  it('refuses a declared length above the limit at its header, before the body', () => {
    const guard = new FrameGuard(1024 * 1024)
    expect(rejection(guard, startup(), header('Q', 64 * 1024 * 1024))).toBe('54000')
  })

  it('refuses lengths below 4 and absurd startup packets as protocol violations', () => {
    expect(rejection(new FrameGuard(1024), startup(), header('Q', 3))).toBe('08P01')
    expect(rejection(new FrameGuard(1024), startup(), header('Q', -1))).toBe('08P01')
    expect(rejection(new FrameGuard(1024), Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]))).toBe('08P01')
    expect(rejection(new FrameGuard(1024), Buffer.from([0, 0, 0, 2, 0, 3, 0, 0]))).toBe('08P01')
  })

  it('counts a large body passed in many chunks without keeping it', () => {
    const guard = new FrameGuard(8 * 1024 * 1024)
    guard.check(Buffer.concat([startup(), header('Q', 4 * 1024 * 1024 + 4)]))
    const piece = Buffer.alloc(64 * 1024)
    for (let i = 0; i < 64; i++) guard.check(piece)
    // The next header is checked again.
    expect(rejection(guard, header('Q', 16 * 1024 * 1024))).toBe('54000')
  })
})

/** A fake backend: each exchange's "SQL" names the transaction status it leaves. */
function fakeBackend(): { ran: string[]; task(sessionId: number, status: 'I' | 'T' | 'E'): () => Promise<Uint8Array> } {
  const ran: string[] = []
  return {
    ran,
    task: (sessionId, status) => async () => {
      ran.push(`${sessionId}${status}`)
      return readyForQuery(status)
    },
  }
}

describe('session scheduler with a fake backend', () => {
  const options = { idleInTransactionTimeoutMs: 60_000, onIdleInTransaction: () => undefined }

  it('runs exchanges first come, first served', async () => {
    const backend = fakeBackend()
    const scheduler = new SessionScheduler(options)
    await Promise.all([scheduler.submit(1, backend.task(1, 'I')), scheduler.submit(2, backend.task(2, 'I')), scheduler.submit(1, backend.task(1, 'I'))])
    expect(backend.ran).toEqual(['1I', '2I', '1I'])
  })

  it('lets an open transaction keep the backend until it ends', async () => {
    const backend = fakeBackend()
    const scheduler = new SessionScheduler(options)
    const done = [
      scheduler.submit(1, backend.task(1, 'T')),
      scheduler.submit(2, backend.task(2, 'I')),
      scheduler.submit(1, backend.task(1, 'T')),
      scheduler.submit(1, backend.task(1, 'I')),
    ]
    await Promise.all(done)
    expect(backend.ran).toEqual(['1T', '1T', '1I', '2I'])
  })

  it('rolls back and lets the others in when the owner closes during BEGIN', async () => {
    const backend = fakeBackend()
    const scheduler = new SessionScheduler(options)
    await scheduler.submit(1, backend.task(1, 'T'))
    const waiting = scheduler.submit(2, backend.task(2, 'I'))
    const queuedOfOwner = expect(scheduler.submit(1, backend.task(1, 'T'))).rejects.toThrow('session closed')
    await scheduler.release(1, async () => {
      backend.ran.push('rollback')
      return readyForQuery('I')
    })
    await queuedOfOwner
    await waiting
    expect(backend.ran).toEqual(['1T', 'rollback', '2I'])
    expect(scheduler.transactionOwner).toBeUndefined()
  })

  it('releases a session that owns nothing without running anything', async () => {
    const backend = fakeBackend()
    const scheduler = new SessionScheduler(options)
    await scheduler.submit(1, backend.task(1, 'I'))
    await scheduler.release(1, backend.task(1, 'I'))
    expect(backend.ran).toEqual(['1I'])
  })

  it('cancels a queued exchange, not the others', async () => {
    const backend = fakeBackend()
    const scheduler = new SessionScheduler(options)
    await scheduler.submit(1, backend.task(1, 'T'))
    const cancelled = expect(scheduler.submit(2, backend.task(2, 'I'))).rejects.toBeInstanceOf(ExchangeCancelled)
    expect(scheduler.cancel(2)).toBe(true)
    await cancelled
    await scheduler.submit(1, backend.task(1, 'I'))
    expect(backend.ran).toEqual(['1T', '1I'])
  })

  it('names the session whose exchange runs (a CancelRequest for it stops the engine), and none between exchanges', async () => {
    const scheduler = new SessionScheduler(options)
    const seen: Array<number | undefined> = []
    await Promise.all(
      [4, 5].map((sessionId) =>
        scheduler.submit(sessionId, async () => {
          seen.push(scheduler.runningSession)
          return readyForQuery('I')
        }),
      ),
    )
    expect(seen).toEqual([4, 5])
    expect(scheduler.runningSession).toBeUndefined()
    // A task that fails (the engine was interrupted under it) frees its turn all the same.
    await expect(scheduler.submit(6, () => Promise.reject(new Error('interrupted')))).rejects.toThrow('interrupted')
    expect(scheduler.runningSession).toBeUndefined()
  })

  it('stops only once the running exchange has ended, drops the queued ones and refuses later ones', async () => {
    const scheduler = new SessionScheduler(options)
    const events: string[] = []
    let finishRunning!: () => void
    const running = scheduler.submit(1, async () => {
      events.push('running')
      await new Promise<void>((resolve) => (finishRunning = resolve))
      events.push('ran')
      return readyForQuery('I')
    })
    const queued = expect(scheduler.submit(2, async () => readyForQuery('I'))).rejects.toThrow('database is shutting down')
    await expect.poll(() => events).toEqual(['running'])
    const stopped = scheduler.stop().then(() => events.push('stopped'))
    await queued
    await expect(scheduler.submit(3, async () => readyForQuery('I'))).rejects.toThrow('database is shutting down')
    expect(events).toEqual(['running'])
    finishRunning()
    await stopped
    await running
    // The engine may close now: nothing ran after the exchange that was running.
    expect(events).toEqual(['running', 'ran', 'stopped'])
  })

  it('reports an owner idle in its transaction, and not one that ended it', async () => {
    const idle: number[] = []
    const backend = fakeBackend()
    const scheduler = new SessionScheduler({ idleInTransactionTimeoutMs: 20, onIdleInTransaction: (sessionId) => idle.push(sessionId) })
    await scheduler.submit(3, backend.task(3, 'T'))
    await expect.poll(() => idle).toEqual([3])
    await scheduler.submit(3, backend.task(3, 'I'))
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(idle).toEqual([3])
  })

  it('does not end an owner whose next exchange reached its socket while the process was held up', async () => {
    // The owner's next statement arrives on its socket, where the wire server reads it and
    // submits its exchange. The process is then held up (a long GC, the machine's other load)
    // past the timeout: the expired timer runs before this turn's socket reads, so the
    // statement, sent in time, is there unread when the idleness is judged.
    const idle: number[] = []
    const backend = fakeBackend()
    const scheduler = new SessionScheduler({ idleInTransactionTimeoutMs: 200, onIdleInTransaction: (sessionId) => idle.push(sessionId) })
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve))
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    const socket = await accepted
    try {
      let next: Promise<Uint8Array> | undefined
      const submitted = new Promise<void>((resolve) =>
        socket.once('data', () => {
          next = scheduler.submit(3, backend.task(3, 'I'))
          resolve()
        }),
      )
      await scheduler.submit(3, backend.task(3, 'T'))
      // The scheduler arms the idle timer on the turn after the exchange.
      await new Promise((resolve) => setImmediate(resolve))
      client.write('COMMIT')
      const heldUntil = performance.now() + 400
      while (performance.now() < heldUntil) {
        // held up: nothing else runs
      }
      await submitted
      await next
      expect(idle).toEqual([])
      expect(backend.ran).toEqual(['3T', '3I'])
    } finally {
      client.destroy()
      socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('COPY translation', () => {
  it('recognizes a lone COPY FROM STDIN / TO STDOUT; only a COPY TO that never names STDIN may take the blob path', () => {
    expect(translateCopy('COPY  t FROM STDIN csv header')).toEqual({ direction: 'in', blobSql: undefined, binary: false })
    expect(translateCopy('copy (select 1) to stdout with (format binary);')).toEqual({ direction: 'out', blobSql: "COPY (select 1) TO '/dev/blob' with (format binary)", binary: true })
    // A comment hides this FROM STDIN from the recognizer, which sees a COPY TO STDOUT; a
    // statement naming STDIN never goes to PGlite's query API (it would run it without data).
    expect(translateCopy('copy t from/**/stdin -- to stdout')).toEqual({ direction: 'out', blobSql: undefined, binary: false })
    expect(translateCopy('copy t from stdin; drop table t')).toBeUndefined()
    expect(translateCopy('select 1')).toBeUndefined()
  })

  it('names what must never reach the engine', () => {
    expect(unsafeCopy('select 1; copy t from stdin')).toMatch(/on their own/)
    expect(unsafeCopy("copy t from '/dev/blob'")).toMatch(/reserved/)
    expect(unsafeCopy('select 1')).toBeUndefined()
  })
})

/** What a client sends to prove `password` (RFC 5802), for the server's check. */
function clientProof(password: string, salt: string, iterations: number, authMessage: string): string {
  const salted = crypto.pbkdf2Sync(password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256')
  const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = crypto.createHash('sha256').update(clientKey).digest()
  const signature = crypto.createHmac('sha256', storedKey).update(authMessage).digest()
  return Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!)).toString('base64')
}

describe('SQL credentials', () => {
  const noRoles = async () => undefined

  it("tells the file password from the pool's in-memory one, and refuses a wrong one", async () => {
    const credentials = await SqlCredentials.create('file password')
    const check = async (password: string) => {
      const data = await credentials.scramFor('postgres', noRoles)
      const authMessage = 'n=postgres,r=abc,r=abcdef,s=salt,i=4096,c=biws,r=abcdef'
      return credentials.verify({ username: 'postgres', authMessage, clientProof: clientProof(password, data.salt, data.iterations, authMessage), scramSha256Data: data })
    }
    expect(await check('file password')).toBe('client')
    expect(await check(credentials.internalPassword)).toBe('internal')
    expect(await check('wrong')).toBe(false)
  })

  it("reads pg_authid's SCRAM verifiers, and nothing else", () => {
    expect(parseScramVerifier('SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy')).toEqual({ iterations: 4096, salt: 'c2FsdA==', storedKey: 'c3RvcmVk', serverKey: 'c2VydmVy' })
    expect(parseScramVerifier('md5abcdef')).toBeUndefined()
    expect(parseScramVerifier(null)).toBeUndefined()
  })

  it('writes the generated password once, mode 0600, and keeps it across starts', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'credentials-'))
    try {
      const first = postgresPassword(dataDir, undefined)
      expect(fs.statSync(first.file!).mode & 0o777).toBe(0o600)
      expect(postgresPassword(dataDir, undefined).password).toBe(first.password)
      expect(postgresPassword(dataDir, 'chosen')).toEqual({ password: 'chosen', file: undefined })
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('which SQL may change session state', () => {
  it('notices SET, RESET, DISCARD, set_config, roles, DO, CALL and SQL PREPARE / DEALLOCATE (made again after a reopening); not a plain query', () => {
    for (const sql of ['SET timezone = 1', 'reset all', 'discard all', "select set_config('a', 'b', false)", 'set role x', 'do $$ begin end $$', 'call p()', 'begin; set local x = 1', 'prepare q(int) as select $1', 'deallocate q']) {
      expect(mayChangeSession(sql)).toBe(true)
    }
    for (const sql of ['select count(*) from location_samples', "select * from places('2024-01-01', now())", 'insert into t values (1)']) {
      expect(mayChangeSession(sql)).toBe(false)
    }
  })
})
