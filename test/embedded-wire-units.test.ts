// The embedded SQL endpoint's own pieces at their own level: the frame guard (what reaches
// pg-gateway), the scheduler with a fake backend (whose exchange runs when), and the COPY
// translation. The real endpoint with real clients is embedded-sql-endpoint.test.ts.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { FrameGuard, FrameRejected } from '../src/db/embedded/frame-guard.ts'
import { ExchangeCancelled, SessionScheduler } from '../src/db/embedded/session-scheduler.ts'
import { translateCopy, unsafeCopy } from '../src/db/embedded/copy-translation.ts'
import { readyForQuery, simpleQuery } from '../src/db/embedded/wire-protocol.ts'

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
})

describe('COPY translation', () => {
  it('turns a lone COPY FROM STDIN / TO STDOUT into the blob path, options kept', () => {
    expect(translateCopy('COPY  t FROM STDIN csv header')).toEqual({ direction: 'in', sql: "COPY t FROM '/dev/blob' csv header", binary: false })
    expect(translateCopy('copy (select 1) to stdout with (format binary);')).toEqual({ direction: 'out', sql: "COPY (select 1) TO '/dev/blob' with (format binary)", binary: true })
    expect(translateCopy('copy t from stdin; drop table t')).toBeUndefined()
    expect(translateCopy('select 1')).toBeUndefined()
  })

  it('names what must never reach the engine', () => {
    expect(unsafeCopy('select 1; copy t from stdin')).toMatch(/on their own/)
    expect(unsafeCopy("copy t from '/dev/blob'")).toMatch(/reserved/)
    expect(unsafeCopy('select 1')).toBeUndefined()
  })
})
