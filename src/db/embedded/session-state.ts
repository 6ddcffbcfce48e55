// Every connection has its own session state although all of them share PGlite's one
// backend. Before a connection's exchange runs, its state is put in place:
//
// - An outside client's settings are read back after it had the backend (pg_settings rows
//   whose source is 'session', the current role), and the backend is reset before anyone
//   else runs: `set default_transaction_read_only = on` or `set role` in psql cannot reach
//   an upload. They are re-applied when the client's next exchange comes.
// - Reading back costs about 4 ms (pg_settings formats every setting), so it is done only
//   after an exchange whose SQL could change session state (mayChangeSession).
// - Nothing is read back after the service's own connections: they never SET anything, so
//   switching between them costs nothing and ingest pays no toll for the isolation.
// - A login other than `postgres` runs under SET SESSION AUTHORIZATION of its role, so it has
//   exactly that role's privileges.
// - When the engine was reopened (a statement stopped by a cancel or a statement timeout,
//   engine.ts), the backend is new: every session's state is applied again on its next turn,
//   and statements made with SQL PREPARE (which, like the backend, all connections share) are
//   prepared again.
import type { Engine } from './engine.ts'
import { simpleQuery, simpleQueryResult } from './wire-protocol.ts'

export interface SessionState {
  /** Session-level settings (pg_settings.source = 'session'), name -> setting. */
  settings: Record<string, string>
  /** The role after SET ROLE, when it differs from the login role. */
  role: string | undefined
}

export interface ClientSession {
  id: number
  /** The service's own pool: trusted not to change session state. */
  internal: boolean
  /** undefined for `postgres` (the backend's own user); else the role to run as. */
  loginRole: string | undefined
  state: SessionState
  /** Ran an exchange that may have changed its state since that was last read back. */
  touched: boolean
  /** Changed it inside a transaction block: its state is read once the block has ended. */
  readAtTransactionEnd: boolean
  closed: boolean
}

export class BackendSessions {
  /** The session whose state the backend holds now. */
  private loaded: ClientSession | undefined
  /** The state the backend holds, as applied; undefined when unknown. */
  private loadedKey: string | undefined
  /** The engine's generation that `loaded` and `loadedKey` describe. */
  private generation: number
  /** Statements prepared with SQL PREPARE, as last read back: name -> its PREPARE statement. */
  private sqlPrepared: Record<string, string> = {}

  constructor(
    private readonly engine: Engine,
    /** The server's own session-level settings (set at start-up), every session's starting point. */
    readonly base: SessionState,
    /** A restricted login left its role (it should not be able to): end it. */
    private readonly onEscaped: (session: ClientSession, sessionUser: string) => void,
  ) {
    this.loadedKey = stateKey(undefined, base)
    this.generation = engine.generation
  }

  static async readBase(engine: Engine): Promise<SessionState> {
    return (await readState(engine)).state
  }

  newSession(id: number, internal: boolean, loginRole: string | undefined): ClientSession {
    return { id, internal, loginRole, state: { settings: { ...this.base.settings }, role: undefined }, touched: false, readAtTransactionEnd: false, closed: false }
  }

  /**
   * Puts `session`'s state on the backend; call inside the scheduler, before its exchange.
   * `transaction`: the session's transaction status before this exchange (ReadyForQuery's).
   */
  async enter(session: ClientSession, transaction: 'I' | 'T' | 'E' = 'I'): Promise<void> {
    if (this.generation !== this.engine.generation) await this.reopened()
    if (this.loaded !== session) await this.leave()
    // Its own last exchange may have changed what its next one depends on (statement_timeout),
    // or tried to leave its login role.
    else if (!session.internal && unread(session, transaction) && (await this.readBack(session, transaction === 'T')) === 'escaped') {
      throw new Error('session ended: it left its login role')
    }
    const key = stateKey(session.loginRole, session.state)
    if (key !== this.loadedKey) {
      await run(this.engine, applyStateSql(session.loginRole, session.state, this.base))
      this.loadedKey = key
    }
    this.loaded = session
  }

  /** The backend's state is no longer known (a session ended mid-way, a rollback ran). */
  forget(session: ClientSession): void {
    if (this.loaded === session && !session.internal) this.loadedKey = undefined
  }

  private async leave(): Promise<void> {
    const previous = this.loaded
    // It is idle (a transaction block keeps the backend for its owner), so all it set is read.
    if (!previous || previous.internal || !(previous.touched || previous.readAtTransactionEnd)) return
    await this.readBack(previous)
  }

  /**
   * Reads the loaded session's state back from the backend. `inTransaction`: only whether it
   * left its login role is judged. What a transaction block holds includes SET LOCAL and the
   * SETs its ROLLBACK will undo, so the session's own state is read once the block has ended
   * (nobody else has the backend meanwhile: the transaction owns it).
   */
  private async readBack(session: ClientSession, inTransaction = false): Promise<'read' | 'escaped' | 'closed'> {
    if (session.closed) {
      this.loadedKey = undefined
      return 'closed'
    }
    const { sessionUser, currentUser, state, sqlPrepared } = await readState(this.engine)
    this.sqlPrepared = sqlPrepared
    const loginName = session.loginRole ?? 'postgres'
    if (sessionUser !== loginName) {
      this.loadedKey = undefined
      this.onEscaped(session, sessionUser)
      return 'escaped'
    }
    session.touched = false
    session.readAtTransactionEnd = inTransaction
    if (inTransaction) return 'read'
    session.state = { settings: state.settings, role: currentUser === loginName ? undefined : currentUser }
    this.loadedKey = stateKey(session.loginRole, session.state)
    return 'read'
  }

  /**
   * The engine was opened again: its backend holds the server's own state and nothing
   * prepared. Statements made with SQL PREPARE are made again (each on its own: one that no
   * longer parses, say over a dropped table, does not keep the others away); a session's own
   * settings and role follow on its turn, as after any switch.
   */
  private async reopened(): Promise<void> {
    this.generation = this.engine.generation
    this.loaded = undefined
    this.loadedKey = stateKey(undefined, this.base)
    for (const statement of Object.values(this.sqlPrepared)) {
      // Only a lone PREPARE: the text PostgreSQL keeps is the whole query string it came in.
      if (/^\s*prepare\b[^;]*;?\s*$/i.test(statement)) await this.engine.execProtocolRaw(simpleQuery(statement))
    }
  }
}

/**
 * Whether the session's own exchange must be preceded by a read-back: it changed something
 * since the last one, or changed it inside a block that has ended since. Never inside a failed
 * transaction: nothing can be read there (25P02), nor has anything changed since the error.
 */
function unread(session: ClientSession, transaction: 'I' | 'T' | 'E'): boolean {
  if (transaction === 'E') return false
  return session.touched || (session.readAtTransactionEnd && transaction === 'I')
}

/**
 * Whether SQL may change session state: SET, RESET, DISCARD, set_config(), a role or
 * authorization change, or code that could run any of them (DO, CALL). A plain SELECT cannot,
 * except through a function of the owner's that calls set_config(..., false): such a function
 * is not noticed (docs/embedded-database.md says so).
 */
export function mayChangeSession(sql: string): boolean {
  return /\b(set|reset|discard|set_config|role|authorization|do|call|prepare|deallocate)\b/i.test(sql)
}

async function readState(engine: Engine): Promise<{ sessionUser: string; currentUser: string; state: SessionState; sqlPrepared: Record<string, string> }> {
  const [row] = await run(
    engine,
    `select session_user, current_user,
            coalesce((select json_object_agg(name, setting) from pg_settings where source = 'session'), '{}'),
            coalesce((select json_object_agg(name, statement) from pg_prepared_statements where from_sql), '{}')`,
  )
  return {
    sessionUser: row![0]!,
    currentUser: row![1]!,
    state: { settings: JSON.parse(row![2]!) as Record<string, string>, role: undefined },
    sqlPrepared: JSON.parse(row![3]!) as Record<string, string>,
  }
}

/** The server's own statements, on the raw protocol (see simpleQueryResult). */
async function run(engine: Engine, sql: string): Promise<Array<Array<string | null>>> {
  const { rows, error } = simpleQueryResult(await engine.execProtocolRaw(simpleQuery(sql)))
  if (error !== undefined) throw new Error(`restoring a session's state: ${error}`)
  return rows
}

function stateKey(loginRole: string | undefined, state: SessionState): string {
  return JSON.stringify([loginRole, state.role, Object.entries(state.settings).sort(([a], [b]) => a.localeCompare(b))])
}

/** Back to the server's own state, then the session's settings, then its role. */
function applyStateSql(loginRole: string | undefined, state: SessionState, base: SessionState): string {
  // Named, not RESET: PGlite's RESET SESSION AUTHORIZATION keeps the role that was set.
  const statements = ['set session authorization postgres', 'reset all']
  const settings = { ...base.settings, ...state.settings }
  const pairs = Object.entries(settings).map(([name, value]) => `(${literal(name)}, ${literal(value)})`)
  if (pairs.length > 0) statements.push(`select set_config(name, value, false) from (values ${pairs.join(', ')}) as s(name, value)`)
  if (loginRole) statements.push(`set session authorization ${identifier(loginRole)}`)
  if (state.role) statements.push(`set role ${identifier(state.role)}`)
  return statements.join('; ')
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}

function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
