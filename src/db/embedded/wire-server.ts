// Serves the in-process PGlite on the PostgreSQL wire protocol, so `pg`, psql and Grafana
// connect to the embedded TimescaleDB exactly as to a server. pg-gateway does the protocol's
// front door (startup, SSLRequest, SCRAM-SHA-256, message framing); this file decides what
// each connection's messages do on the one PGlite backend:
//
// - Messages are collected up to a Sync or simple Query and run as one exchange, in turn
//   (SessionScheduler); an open transaction keeps the backend to itself.
// - Each connection's session state is put in place first (BackendSessions), and its
//   prepared statements, the unnamed one included, live under names of its own.
// - COPY FROM STDIN / TO STDOUT is played with the client here and run on the protocol with
//   its data in one exchange (copy-translation.ts says how, and why it is safe).
// - A CancelRequest drops the target's exchange while it waits for its turn, and stops it
//   while it runs by reopening the engine (engine.ts), as does an outside client's exchange
//   that runs beyond the statement timeout. Either way the client gets 57014.
import crypto from 'node:crypto'
import net from 'node:net'
import { BackendError, PostgresConnection, type ScramSha256Data } from 'pg-gateway'
import type { Logger } from 'pino'
import { translateCopy, unsafeCopy } from './copy-translation.ts'
import { EngineInterrupted, type Engine } from './engine.ts'
import { BackendSessions, mayChangeSession, type ClientSession } from './session-state.ts'
import { ExchangeCancelled, SessionScheduler } from './session-scheduler.ts'
import { socketStreams } from './socket-stream.ts'
import { parseScramVerifier, type SqlCredentials } from './sql-credentials.ts'
import {
  backendKeyData,
  CANCEL_REQUEST_CODE,
  closeStatements,
  commandComplete,
  copyData,
  copyDone,
  copyFail,
  copyFailReason,
  copyResponse,
  errorResponse,
  GSSENC_REQUEST_CODE,
  lastReadyStatus,
  parameterStatus,
  readyForQuery,
  renameStatement,
  simpleQuery,
  SSL_REQUEST_CODE,
  sqlText,
  statementName,
  sync,
  usesUnnamedStatement,
  withoutMessages,
  type FrontendMessage,
} from './wire-protocol.ts'

export interface WireServerOptions {
  host: string
  port: number
  idleInTransactionTimeoutMs: number
  /** An outside client's exchange running longer is stopped (57014); 0: no limit. */
  statementTimeoutMs: number
  /** Larger messages end the connection with 54000 before their body is read. */
  maxMessageBytes: number
  credentials: SqlCredentials
  logger: Logger
}

export interface WireServer {
  host: string
  port: number
  /** Connections currently open (psql, Grafana, the service's own pool). */
  readonly connections: number
  /** Closes every connection; resolves once no exchange runs on the engine any more. */
  close(): Promise<void>
}

/** What one COPY FROM STDIN may carry in all: it is collected in memory before it runs. */
const MAX_COPY_IN_BYTES = 1024 * 1024 * 1024
/** COPY TO STDOUT output is sent in CopyData messages of this size. */
const COPY_OUT_CHUNK_BYTES = 64 * 1024
/** After a FATAL answer, how long a client gets to read it before the socket is destroyed. */
const FATAL_GRACE_MS = 1000
const NOTHING = new Uint8Array(0)
/**
 * Sent after every COPY run on the protocol: a statement that reads COPY data beyond what the
 * exchange holds (a second COPY FROM STDIN in the same string, one whose FROM STDIN the SQL
 * text hid from the recognizer) fails with 57014 on it instead of finding the input's end,
 * which traps the engine. After a COPY that ended, the backend ignores it.
 */
const COPY_DATA_ENDS = copyFail('the embedded server sends a COPY its data in one piece; no more follows')

interface Connection {
  session: ClientSession
  secret: number
  socket: net.Socket
  /** Messages of the exchange being collected (copies: pg-gateway reuses its buffer). */
  exchange: Buffer[]
  /** The exchange parses the unnamed statement: its old one is closed first. */
  parsesUnnamed: boolean
  /** The exchange's SQL may change session state (read it back after the exchange). */
  changesSession: boolean
  /** Set when a message of the exchange was refused: the rest is skipped until Sync. */
  refused: Buffer | undefined
  statementNames: Map<string, string>
  /** Parse messages (as sent to the backend) of this connection's statements, by their name there. */
  parses: Map<string, Buffer>
  /** The engine's generation its statements were parsed in; after a reopening they are parsed again. */
  generation: number
  /**
   * Its transaction was lost to a reopening of the engine (a cancel inside BEGIN): the client
   * is answered as from an aborted transaction until it ends it, without holding the engine.
   */
  lostTransaction: boolean
  /** The client's names of statements whose SQL may change session state. */
  statementsChangingSession: Set<string>
  statementCounter: number
  /** Transaction status of the last ReadyForQuery sent. */
  status: 'I' | 'T' | 'E'
  copyIn:
    | {
        /** The client's Query message, sent on as it is. */
        query: Buffer
        /** The client's CopyData messages, whole (type and length included), sent on as they are. */
        chunks: Buffer[]
        bytes: number
        failed: { code: string; text: string } | undefined
      }
    | undefined
  terminated: boolean
}

export async function serveWireProtocol(engine: Engine, options: WireServerOptions): Promise<WireServer> {
  const connections = new Map<number, Connection>()
  const backend = new BackendSessions(engine, await BackendSessions.readBase(engine), (session, sessionUser) => {
    const connection = connections.get(session.id)
    options.logger.warn({ sessionId: session.id, loginRole: session.loginRole, sessionUser }, 'embedded database: a session left its login role; ending it')
    if (connection) terminate(connection, '42501', 'session authorization changed: a login keeps the privileges of its role')
  })
  const scheduler = new SessionScheduler({
    idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs,
    onIdleInTransaction(sessionId) {
      const connection = connections.get(sessionId)
      if (!connection) return
      options.logger.warn({ sessionId }, 'embedded database: ending a session left idle in a transaction')
      terminate(
        connection,
        '25P03',
        `terminating connection due to idle-in-transaction timeout (${options.idleInTransactionTimeoutMs} ms): the embedded database runs one transaction at a time, so an open transaction holds everyone else back`,
      )
    },
  })
  const startupParameters = await serverParameters(engine)
  let nextSessionId = 1
  // The server's own lookups (a role's password at login) run in turn like any exchange.
  const system = backend.newSession(0, true, undefined)

  async function lookupRole(name: string): Promise<ScramSha256Data | undefined> {
    let verifier: string | null | undefined
    await scheduler.submit(system.id, async () => {
      await backend.enter(system)
      const result = await engine.query<{ rolpassword: string | null }>('select rolpassword from pg_authid where rolname = $1 and rolcanlogin', [name])
      verifier = result.rows[0]?.rolpassword
      return readyForQuery('I')
    })
    return parseScramVerifier(verifier)
  }

  /** Ends a connection now, whether or not its client reads: rolls back, then FATAL and close. */
  function terminate(connection: Connection, code: string, text: string): void {
    if (connection.terminated) return
    connection.terminated = true
    void release(connection)
    const { socket } = connection
    if (!socket.destroyed) socket.end(errorResponse('FATAL', code, text))
    setTimeout(() => socket.destroy(), FATAL_GRACE_MS).unref()
  }

  async function release(connection: Connection): Promise<void> {
    const { session } = connection
    if (session.closed) return
    session.closed = true
    await scheduler.release(session.id, async () => {
      backend.forget(session)
      // Sync first: a session that left mid-exchange (a Flush after an error) has the backend
      // skipping everything up to the next Sync, the ROLLBACK included.
      return engine.execProtocolRaw(Buffer.concat([sync(), simpleQuery('ROLLBACK')]))
    })
    const names = [...connection.statementNames.values(), unnamedName(session)]
    await scheduler.submit(session.id, () => engine.execProtocolRaw(closeStatements(names))).catch(() => undefined)
  }

  function cancel(processId: number, secret: number): void {
    const connection = connections.get(processId)
    if (!connection || connection.secret !== secret) return
    if (scheduler.runningSession === processId) engine.interrupt('user request')
    else scheduler.cancel(processId)
  }

  /** How long this connection's exchange may run: the server's limit, or its own lower statement_timeout. */
  function statementTimeout(connection: Connection): number {
    if (connection.session.internal) return 0
    const own = Number(connection.session.state.settings.statement_timeout ?? 0)
    const limits = [options.statementTimeoutMs, own].filter((limit) => limit > 0)
    return limits.length > 0 ? Math.min(...limits) : 0
  }

  /** One exchange of `connection` on the backend, in its turn; resolves with what to send. */
  async function run(connection: Connection, work: () => Promise<Uint8Array>): Promise<Uint8Array> {
    let interrupted: EngineInterrupted | undefined
    try {
      const response = await scheduler.submit(connection.session.id, async () => {
        let timer: NodeJS.Timeout | undefined
        try {
          await backend.enter(connection.session, connection.status)
          if (connection.generation !== engine.generation) await prepareAgain(connection)
          // The limit is on running: not on waiting for an engine that reopens after another's cancel.
          await engine.opened()
          const limit = statementTimeout(connection)
          if (limit > 0) timer = setTimeout(() => engine.interrupt('statement timeout'), limit)
          return Buffer.from(await work())
        } catch (error) {
          if (!(error instanceof EngineInterrupted)) throw error
          // The backend was replaced by a fresh one, idle: nobody owns a transaction now.
          interrupted = error
          return readyForQuery('I')
        } finally {
          clearTimeout(timer)
        }
      })
      if (interrupted) return interruptedAnswer(connection, interrupted)
      connection.status = lastReadyStatus(response) ?? connection.status
      return response
    } catch (error) {
      if (error instanceof ExchangeCancelled) return Buffer.concat([errorResponse('ERROR', '57014', error.message), readyForQuery(connection.status)])
      if (connection.terminated || connection.session.closed) return NOTHING
      options.logger.error({ err: error, sessionId: connection.session.id }, 'embedded database: a request failed')
      terminate(connection, 'XX000', `embedded database error: ${error instanceof Error ? error.message : String(error)}`)
      return NOTHING
    }
  }

  /**
   * The answer to an exchange stopped by a reopening. PostgreSQL leaves a transaction block
   * aborted after a cancel ('E': the client must ROLLBACK); the reopening lost the block, so
   * the client is told it is aborted, and the server plays that part until the client ends it.
   */
  function interruptedAnswer(connection: Connection, interrupted: EngineInterrupted): Buffer {
    const inBlock = connection.status !== 'I'
    connection.status = inBlock ? 'E' : 'I'
    connection.lostTransaction = inBlock
    return Buffer.concat([errorResponse('ERROR', '57014', interrupted.message), readyForQuery(connection.status)])
  }

  /** Answers for a client whose transaction was lost (see interruptedAnswer), without the backend. */
  function lostTransactionAnswer(connection: Connection, sql: string): Buffer {
    if (isTransactionEnd(sql)) {
      connection.lostTransaction = false
      connection.status = 'I'
      return Buffer.concat([commandComplete('ROLLBACK'), readyForQuery('I')])
    }
    return Buffer.concat([errorResponse('ERROR', '25P02', 'current transaction is aborted, commands ignored until end of transaction block'), readyForQuery('E')])
  }

  /** The connection's statements, parsed again on a reopened engine (their answers are not the client's). */
  async function prepareAgain(connection: Connection): Promise<void> {
    connection.generation = engine.generation
    // A Sync after each: a Parse that fails (a table dropped since) does not skip the others.
    if (connection.parses.size > 0) await engine.execProtocolRaw(Buffer.concat([...connection.parses.values()].flatMap((parse) => [parse, sync()])))
  }

  function runExchange(connection: Connection): Promise<Uint8Array> {
    const bytes = Buffer.concat(connection.exchange)
    const closeUnnamedFirst = connection.parsesUnnamed
    const changesSession = connection.changesSession
    connection.exchange = []
    connection.parsesUnnamed = false
    connection.changesSession = false
    return run(connection, async () => {
      // Marked as it runs: a read-back between now and then would come too early.
      if (changesSession) connection.session.touched = true
      if (closeUnnamedFirst) await engine.execProtocolRaw(closeStatements([unnamedName(connection.session)]))
      return engine.execProtocolRaw(bytes)
    })
  }

  function runCopyIn(connection: Connection): Promise<Uint8Array> {
    const { query, chunks } = connection.copyIn!
    connection.copyIn = undefined
    // The client was sent its CopyInResponse when its Query came; the backend's is dropped.
    return run(connection, async () => withoutMessages(await engine.execProtocolRaw(Buffer.concat([query, ...chunks, copyDone(), COPY_DATA_ENDS])), 'G'))
  }

  /** COPY TO STDOUT on PGlite's blob path (the `postgres` login's, see copy-translation.ts). */
  function runBlobCopyOut(connection: Connection, binary: boolean, blobSql: string): Promise<Uint8Array> {
    return run(connection, async () => {
      const parts: Buffer[] = []
      try {
        const result = await engine.query(blobSql)
        const data = new Uint8Array((await result.blob?.arrayBuffer()) ?? new ArrayBuffer(0))
        parts.push(copyResponse('out', binary))
        for (let offset = 0; offset < data.length; offset += COPY_OUT_CHUNK_BYTES) {
          parts.push(copyData(data.subarray(offset, offset + COPY_OUT_CHUNK_BYTES)))
        }
        parts.push(copyDone(), commandComplete(`COPY ${result.affectedRows ?? 0}`))
      } catch (error) {
        parts.push(databaseError(error))
      }
      parts.push(Buffer.from(await engine.execProtocolRaw(sync())))
      return Buffer.concat(parts)
    })
  }

  /** Why `sql` may not run for this connection, if it may not. */
  function refusal(connection: Connection, sql: string, simple: boolean): Buffer | undefined {
    const copy = simple && translateCopy(sql) ? undefined : unsafeCopy(sql)
    if (copy) return errorResponse('ERROR', '0A000', copy)
    // A restricted login runs under SET SESSION AUTHORIZATION, which PostgreSQL lets it undo
    // because the backend's own user is a superuser: those doors stay shut.
    if (connection.session.loginRole && /session[\s_]+authorization|set_config/i.test(sql)) {
      return errorResponse('ERROR', '42501', `permission denied: a login as ${connection.session.loginRole} cannot change its session authorization`)
    }
    return undefined
  }

  function onCopyMessage(connection: Connection, message: FrontendMessage): Uint8Array | Promise<Uint8Array> {
    const copyIn = connection.copyIn!
    switch (message.type) {
      case 'd':
        copyIn.bytes += message.bytes.length - 5
        if (copyIn.bytes > MAX_COPY_IN_BYTES) copyIn.failed ??= { code: '54000', text: `COPY FROM STDIN carried more than ${MAX_COPY_IN_BYTES} bytes, the embedded server's limit` }
        else copyIn.chunks.push(message.bytes)
        return NOTHING
      case 'c':
        if (copyIn.failed) break
        return runCopyIn(connection)
      case 'f':
        copyIn.failed ??= { code: '57014', text: `COPY from stdin failed: ${copyFailReason(message)}` }
        break
      case 'H':
      case 'S':
        return NOTHING // PostgreSQL ignores Flush and Sync during COPY IN
      default:
        copyIn.failed ??= { code: '08P01', text: `unexpected message type "${message.type}" during COPY from stdin` }
        break
    }
    connection.copyIn = undefined
    return Buffer.concat([errorResponse('ERROR', copyIn.failed!.code, copyIn.failed!.text), readyForQuery(connection.status)])
  }

  function onMessage(connection: Connection, message: FrontendMessage): Uint8Array | Promise<Uint8Array> {
    if (connection.terminated) return NOTHING
    if (connection.copyIn) return onCopyMessage(connection, message)
    if (connection.refused) {
      if (message.type !== 'S') return NOTHING
      const refused = connection.refused
      connection.refused = undefined
      return Buffer.concat([refused, readyForQuery(connection.status)])
    }
    switch (message.type) {
      case 'Q': {
        const sql = sqlText(message)
        if (connection.lostTransaction) return lostTransactionAnswer(connection, sql)
        const refused = refusal(connection, sql, true)
        if (refused) return Buffer.concat([refused, readyForQuery(connection.status)])
        const copy = translateCopy(sql)
        if (copy?.direction === 'in') {
          connection.copyIn = { query: message.bytes, chunks: [], bytes: 0, failed: undefined }
          return copyResponse('in', copy.binary)
        }
        if (copy?.blobSql && !connection.session.loginRole) return runBlobCopyOut(connection, copy.binary, copy.blobSql)
        if (copy) return run(connection, () => engine.execProtocolRaw(Buffer.concat([message.bytes, COPY_DATA_ENDS])))
        connection.changesSession ||= mayChangeSession(sql)
        connection.exchange.push(message.bytes)
        return runExchange(connection)
      }
      case 'P': {
        const sql = sqlText(message)
        const refused = refusal(connection, sql, false)
        if (refused) {
          connection.exchange = []
          connection.refused = refused
          return NOTHING
        }
        if (usesUnnamedStatement(message) && !connection.session.internal) connection.parsesUnnamed = true
        // Marked by name too: its Execute may come in a later exchange.
        const name = statementName(message)!
        if (mayChangeSession(sql)) connection.statementsChangingSession.add(name)
        else connection.statementsChangingSession.delete(name)
        connection.changesSession ||= connection.statementsChangingSession.has(name)
        if (connection.lostTransaction && isTransactionEnd(sql)) connection.lostTransaction = false
        const parse = renamed(connection, message)
        const serverName = statementName({ type: 'P', bytes: parse })!
        if (serverName !== '') connection.parses.set(serverName, parse)
        connection.exchange.push(parse)
        return NOTHING
      }
      case 'B':
      case 'D':
      case 'C':
        if (message.type === 'B') connection.changesSession ||= connection.statementsChangingSession.has(statementName(message)!)
        const renamedMessage = renamed(connection, message)
        connection.exchange.push(renamedMessage)
        const closed = message.type === 'C' ? statementName(message) : undefined
        if (closed !== undefined) {
          connection.statementNames.delete(closed)
          connection.parses.delete(statementName({ type: 'C', bytes: renamedMessage })!)
        }
        return NOTHING
      case 'E':
      case 'F':
        connection.exchange.push(message.bytes)
        return NOTHING
      case 'S':
      case 'H':
        if (connection.lostTransaction) {
          connection.exchange = []
          return message.type === 'H' ? NOTHING : lostTransactionAnswer(connection, '')
        }
        connection.exchange.push(message.bytes)
        return runExchange(connection)
      case 'd':
      case 'c':
      case 'f':
        return NOTHING // COPY messages after a COPY ended (an error): PostgreSQL drops them too
      default:
        terminate(connection, '08P01', `invalid frontend message type ${message.bytes[0]}`)
        return NOTHING
    }
  }

  /**
   * Statement names of this connection mapped to names of its own. The service's own
   * connections keep the real unnamed statement: they always parse it in the exchange that
   * uses it (node-postgres), so nobody can come between, and they skip the extra Close.
   */
  function renamed(connection: Connection, message: FrontendMessage): Buffer {
    return renameStatement(message, (name, isParse) => {
      if (name === '') return connection.session.internal ? '' : unnamedName(connection.session)
      let serverName = connection.statementNames.get(name)
      if (serverName === undefined && isParse) {
        serverName = `_embedded_${connection.session.id}_${connection.statementCounter++}`
        connection.statementNames.set(name, serverName)
      }
      return serverName ?? name
    })
  }

  const server = net.createServer((socket) => {
    const sessionId = nextSessionId++
    socket.setNoDelay(true)
    socket.on('error', () => {
      // A client that vanished; 'close' follows and cleans up.
    })
    let connection: Connection | undefined
    let login: 'client' | 'internal' = 'client'
    const streams = socketStreams(socket, options.maxMessageBytes, (error) => {
      options.logger.warn({ sessionId, reason: error.message }, 'embedded database: closing a connection that sent a malformed or oversized message')
    })
    new PostgresConnection(streams, {
      auth: {
        method: 'scram-sha-256',
        getScramSha256Data: ({ username }) => options.credentials.scramFor(username, lookupRole),
        async validateCredentials(params) {
          const verdict = await options.credentials.verify(params)
          if (verdict) login = verdict
          return verdict !== false
        },
      },
      onStartup(state) {
        const database = state.clientParams?.database ?? state.clientParams?.user
        if (database !== 'postgres') {
          throw BackendError.create({ severity: 'FATAL', code: '3D000', message: `database "${database}" does not exist: the embedded TimescaleDB has one database, "postgres"` })
        }
      },
      onAuthenticated(state) {
        const user = state.clientParams!.user
        const session = backend.newSession(sessionId, login === 'internal', user === 'postgres' ? undefined : user)
        connection = {
          session,
          secret: crypto.randomBytes(4).readInt32BE(0),
          socket,
          exchange: [],
          parsesUnnamed: false,
          changesSession: false,
          refused: undefined,
          statementNames: new Map(),
          parses: new Map(),
          generation: engine.generation,
          lostTransaction: false,
          statementsChangingSession: new Set(),
          statementCounter: 0,
          status: 'I',
          copyIn: undefined,
          terminated: false,
        }
        connections.set(sessionId, connection)
        // Written straight to the socket: pg-gateway has sent AuthenticationOk and sends
        // ReadyForQuery after this returns, and these belong in between.
        const parameters: Array<[string, string]> = [
          ...startupParameters,
          ['is_superuser', user === 'postgres' ? 'on' : 'off'],
          ['session_authorization', user],
          ['application_name', state.clientParams?.application_name ?? ''],
        ]
        socket.write(Buffer.concat([...parameters.map(([name, value]) => parameterStatus(name, value)), backendKeyData(sessionId, connection.secret)]))
      },
      onMessage(data, state) {
        if (!state.hasStarted) return onPacketBeforeStartup(data, socket, cancel)
        if (!state.isAuthenticated || !connection) return undefined
        // Terminate: pg-gateway closes the connection; 'close' cleans up.
        if (data[0] === 0x58 /* X */) return undefined
        const bytes = Buffer.from(data)
        return onMessage(connection, { type: String.fromCharCode(bytes[0]!), bytes })
      },
    })
    socket.on('close', () => {
      if (!connection) return
      connections.delete(sessionId)
      connection.terminated = true
      void release(connection)
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
  const sockets = new Set<net.Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  return {
    host: options.host,
    port: address.port,
    get connections() {
      return connections.size
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
      await scheduler.stop()
    },
  }
}

/**
 * Packets before the StartupMessage that pg-gateway does not know: GSSENCRequest (answered
 * "no", the client goes on in plain text, as psql's gssencmode=prefer expects) and
 * CancelRequest (acted on, then the connection closes, as PostgreSQL does). SSLRequest and
 * the StartupMessage itself are pg-gateway's (undefined hands them on).
 */
function onPacketBeforeStartup(data: Uint8Array, socket: net.Socket, cancel: (processId: number, secret: number) => void): Uint8Array | undefined {
  const packet = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (packet.length < 8) return undefined
  const code = packet.readInt32BE(4)
  if (code === GSSENC_REQUEST_CODE && packet.length === 8) return Buffer.from('N')
  if (code === CANCEL_REQUEST_CODE && packet.length === 16) {
    cancel(packet.readInt32BE(8), packet.readInt32BE(12))
    socket.destroy()
    return NOTHING
  }
  if (code === SSL_REQUEST_CODE || code >> 16 === 3) return undefined
  // pg-gateway would throw at an unknown packet and print the stack; answer as PostgreSQL does.
  socket.end(errorResponse('FATAL', '08P01', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`))
  return NOTHING
}

/** A statement that ends a transaction block (ROLLBACK, COMMIT, ...), alone. */
function isTransactionEnd(sql: string): boolean {
  return /^\s*(rollback|abort|commit|end)\b[^;]*;?\s*$/i.test(sql)
}

/** The name an outside client's unnamed statement lives under. */
function unnamedName(session: ClientSession): string {
  return `_embedded_${session.id}_unnamed`
}

/** An error PGlite threw from its own query API, as the ErrorResponse the client expects. */
function databaseError(error: unknown): Buffer {
  const fields = error as { code?: string; detail?: string; hint?: string; position?: string; message?: string }
  return errorResponse('ERROR', fields.code ?? 'XX000', fields.message ?? String(error), { detail: fields.detail, hint: fields.hint, position: fields.position })
}

/** What PostgreSQL reports to a client at startup; psql and drivers read some of these. */
async function serverParameters(engine: Engine): Promise<Array<[string, string]>> {
  const names = ['server_version', 'server_encoding', 'DateStyle', 'IntervalStyle', 'TimeZone', 'integer_datetimes', 'standard_conforming_strings']
  const parameters: Array<[string, string]> = [['client_encoding', 'UTF8']]
  for (const name of names) {
    const result = await engine.query<Record<string, string>>(`show ${name}`)
    parameters.push([name, Object.values(result.rows[0] ?? {})[0] ?? ''])
  }
  return parameters
}
